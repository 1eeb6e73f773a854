/**
 * The probe language's tokens, read on demand by the parser. Attach points are read raw
 * (`tracepoint:syscalls:sys_enter_open*`, `uprobe:/bin/bash:readline`): the parser asks
 * for one where a probe starts, as bpftrace's grammar treats them as one word.
 *
 * @module
 */

import { fail, type SourceText, type Span } from "./diagnostic.ts";

/** Token kinds. */
export type TokenKind =
  | "ident"
  | "int"
  | "str"
  | "map"
  | "var"
  | "param"
  | "paramcount"
  | "op"
  | "endpred"
  | "eof";

/** One token. */
export interface Token {
  kind: TokenKind;
  /** The text (an identifier, operator, map or variable name; a string's value). */
  text: string;
  /** An integer literal's value. */
  value?: bigint;
  span: Span;
}

/** Operators, longest first so that `<<=` wins over `<<` and `<`. */
const OPERATORS = [
  "<<=",
  ">>=",
  "->",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "==",
  "!=",
  "<=",
  ">=",
  "<<",
  ">>",
  "&&",
  "||",
  ..."+-*/%&|^!~<>=?:;,.{}[]()",
];

// Character classes as comparisons: the lexer tests every character, and V8 compiles a
// regular expression to machine code on its second use, which a one-liner's compile paid for
// each class.

function isDigit(c: string): boolean {
  return c.length === 1 && c >= "0" && c <= "9";
}

function isIdentStart(c: string): boolean {
  return c.length === 1 && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_");
}

function isIdentChar(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}

/** Characters of an attach point after its first `:` (bpftrace's PATH token, plus `$`). */
function isAttachChar(c: string): boolean {
  return isIdentChar(c) || (c.length === 1 && "-./#*+$[]:".includes(c));
}

/** What `\s` matches: ASCII blanks here, the rest of Unicode's by the expression. */
function isSpace(c: string): boolean {
  return c === " " || c === "\n" || c === "\t" || c === "\r" || c === "\v" || c === "\f" ||
    (c > "\x7f" && /\s/.test(c));
}

/** The lexer over one program. */
export class Lexer {
  readonly src: SourceText;
  #pos = 0;
  #ahead: Token[] = [];
  /** `#include` lines seen (they are skipped: the subset needs no C headers). */
  readonly includes: Span[] = [];

  constructor(src: SourceText) {
    this.src = src;
    if (src.text.startsWith("#!")) {
      const nl = src.text.indexOf("\n");
      this.#pos = nl < 0 ? src.text.length : nl;
    }
  }

  /** The next token, without consuming it. */
  peek(n = 0): Token {
    while (this.#ahead.length <= n) this.#ahead.push(this.#scan());
    return this.#ahead[n];
  }

  /** Consume and return the next token. */
  next(): Token {
    const t = this.peek();
    this.#ahead.shift();
    return t;
  }

  /** Whether nothing but blanks and comments is left (never with tokens looked ahead). */
  atEnd(): boolean {
    if (this.#ahead.length) return this.#ahead[0].kind === "eof";
    this.#trivia();
    return this.#pos >= this.src.text.length;
  }

  /** The next significant character (blanks and comments skipped), or "" at the end. */
  peekChar(): string {
    if (this.#ahead.length) return this.#ahead[0].text[0] ?? "";
    this.#trivia();
    return this.src.text[this.#pos] ?? "";
  }

  /** Consume one character seen with {@link peekChar}. */
  skipChar(): Span {
    this.#ahead = [];
    const span = { start: this.#pos, end: this.#pos + 1 };
    this.#pos++;
    return span;
  }

  /**
   * Read an attach point raw: a word (`BEGIN`, `tracepoint`), then `:`-separated parts
   * that may hold paths, globs, offsets, quoted strings and `$N`.
   *
   * @returns The text and where it is.
   */
  attachPoint(): { text: string; span: Span } {
    if (this.#ahead.length) throw new Error("attachPoint() with tokens looked ahead");
    this.#trivia();
    const text = this.src.text;
    const start = this.#pos;
    let out = "";
    let afterColon = false;
    while (this.#pos < text.length) {
      const c = text[this.#pos];
      if (c === '"') {
        const end = text.indexOf('"', this.#pos + 1);
        if (end < 0) fail(this.src, { start: this.#pos, end: text.length }, "unterminated string");
        out += text.slice(this.#pos + 1, end);
        this.#pos = end + 1;
        continue;
      }
      if (c === "\\" && afterColon && this.#pos + 1 < text.length) {
        out += text[this.#pos + 1];
        this.#pos += 2;
        continue;
      }
      const ok = afterColon ? isAttachChar(c) : isIdentChar(c) || c === ":";
      if (!ok) break;
      if (c === ":") afterColon = true;
      out += c;
      this.#pos++;
    }
    const span = { start, end: this.#pos };
    if (!out) {
      const what = this.#pos < text.length ? `'${text[this.#pos]}'` : "end of file";
      fail(
        this.src,
        { start, end: start + 1 },
        `syntax error, unexpected ${what}, expected a probe`,
      );
    }
    return { text: out, span };
  }

  #trivia(): void {
    const text = this.src.text;
    for (;;) {
      while (this.#pos < text.length && isSpace(text[this.#pos])) this.#pos++;
      if (text.startsWith("//", this.#pos)) {
        const nl = text.indexOf("\n", this.#pos);
        this.#pos = nl < 0 ? text.length : nl;
      } else if (text.startsWith("/*", this.#pos)) {
        const end = text.indexOf("*/", this.#pos + 2);
        if (end < 0) {
          fail(this.src, { start: this.#pos, end: this.#pos + 2 }, "end of file during comment");
        }
        this.#pos = end + 2;
      } else if (text[this.#pos] === "#" && this.#atLineStart()) {
        const nl = text.indexOf("\n", this.#pos);
        const end = nl < 0 ? text.length : nl;
        const line = text.slice(this.#pos, end);
        const span = { start: this.#pos, end };
        if (/^#\s*include\b/.test(line)) {
          this.includes.push(span);
          this.#pos = end;
        } else {
          fail(
            this.src,
            span,
            "C preprocessor directives other than #include are not supported",
            "write the constant out in the program",
          );
        }
      } else return;
    }
  }

  #atLineStart(): boolean {
    const text = this.src.text;
    for (let i = this.#pos - 1; i >= 0 && text[i] !== "\n"; i--) {
      if (!isSpace(text[i])) return false;
    }
    return true;
  }

  #scan(): Token {
    this.#trivia();
    const text = this.src.text;
    const start = this.#pos;
    if (start >= text.length) return { kind: "eof", text: "", span: { start, end: start } };
    const c = text[start];
    const tok = (kind: TokenKind, t: string, value?: bigint): Token => ({
      kind,
      text: t,
      value,
      span: { start, end: this.#pos },
    });
    if (isIdentStart(c)) {
      while (this.#pos < text.length && isIdentChar(text[this.#pos])) this.#pos++;
      const word = text.slice(start, this.#pos);
      if (word === "struct" || word === "union" || word === "enum") {
        fail(
          this.src,
          { start, end: this.#pos },
          `${word} definitions and casts are not supported`,
          "read tracepoint fields through args->FIELD",
        );
      }
      return tok("ident", word);
    }
    if (isDigit(c)) return this.#number(start);
    if (c === '"') return this.#string(start);
    if (c === "@") {
      this.#pos++;
      while (this.#pos < text.length && isIdentChar(text[this.#pos])) this.#pos++;
      if (this.#pos > start + 1 && !isIdentStart(text[start + 1])) {
        fail(this.src, { start, end: this.#pos }, "a map name must start with a letter or _");
      }
      return tok("map", text.slice(start, this.#pos));
    }
    if (c === "$") {
      this.#pos++;
      if (text[this.#pos] === "#") {
        this.#pos++;
        return tok("paramcount", "$#");
      }
      if (isDigit(text[this.#pos] ?? "")) {
        while (isDigit(text[this.#pos] ?? "")) this.#pos++;
        return tok("param", text.slice(start, this.#pos));
      }
      while (this.#pos < text.length && isIdentChar(text[this.#pos])) this.#pos++;
      if (this.#pos === start + 1) {
        fail(this.src, { start, end: start + 1 }, "a variable needs a name after '$'");
      }
      return tok("var", text.slice(start, this.#pos));
    }
    if (c === "/") {
      // bpftrace's rule: '/' followed by '{' or '/' ends a predicate.
      let j = start + 1;
      while (j < text.length && isSpace(text[j])) j++;
      if (text[j] === "{" || (text[j] === "/" && text[j + 1] !== "/" && text[j + 1] !== "*")) {
        this.#pos = start + 1;
        return tok("endpred", "/");
      }
    }
    for (const op of OPERATORS) {
      if (text.startsWith(op, start)) {
        this.#pos = start + op.length;
        return tok("op", op);
      }
    }
    return fail(this.src, { start, end: start + 1 }, `invalid character '${c}'`);
  }

  #number(start: number): Token {
    const text = this.src.text;
    const m =
      /^(0[xX][0-9a-fA-F]+|[0-9](?:[0-9_]*[0-9])?(?:[eE][0-9]+)?)([uU]?[lL]{0,2}|[lL]{1,2}[uU]?)?/
        .exec(text.slice(start));
    const lit = m![1];
    this.#pos = start + m![0].length;
    const span = { start, end: this.#pos };
    if (isIdentChar(text[this.#pos] ?? "")) {
      while (isIdentChar(text[this.#pos] ?? "")) this.#pos++;
      fail(
        this.src,
        { start, end: this.#pos },
        `invalid integer '${text.slice(start, this.#pos)}'`,
      );
    }
    let value: bigint;
    const exp = /^([0-9_]+)[eE]([0-9]+)$/.exec(lit);
    if (exp) {
      if (Number(exp[2]) > 19) fail(this.src, span, `integer '${lit}' is out of range`);
      value = BigInt(exp[1].replaceAll("_", "")) * 10n ** BigInt(exp[2]);
    } else value = BigInt(lit.replaceAll("_", ""));
    if (value >= 1n << 64n) fail(this.src, span, `integer '${lit}' is out of range`);
    return { kind: "int", text: text.slice(start, this.#pos), value, span };
  }

  #string(start: number): Token {
    const text = this.src.text;
    let i = start + 1;
    let out = "";
    for (;;) {
      if (i >= text.length || text[i] === "\n") {
        fail(this.src, { start, end: i }, "unterminated string");
      }
      const c = text[i];
      if (c === '"') break;
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\" };
      if (e in simple) {
        out += simple[e];
        i += 2;
      } else if (/[0-7]/.test(e)) {
        const m = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
        const v = parseInt(m, 8);
        if (v > 255) {
          fail(this.src, { start: i, end: i + 1 + m.length }, `octal escape out of range '\\${m}'`);
        }
        out += String.fromCharCode(v);
        i += 1 + m.length;
      } else if (e === "x" || e === "X") {
        const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2))?.[0];
        if (!m) fail(this.src, { start: i, end: i + 2 }, "invalid escape character '\\x'");
        out += String.fromCharCode(parseInt(m, 16));
        i += 2 + m.length;
      } else {
        fail(this.src, { start: i, end: i + 2 }, `invalid escape character '\\${e ?? ""}'`);
      }
    }
    this.#pos = i + 1;
    return { kind: "str", text: out, span: { start, end: this.#pos } };
  }
}
