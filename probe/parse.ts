/**
 * The parser: program text to the syntax tree of {@link ./ast.ts}, with bpftrace's grammar
 * and operator precedence. Constructs outside the subset are refused here, each by name,
 * where they can be recognised from syntax alone (loops, tuples, struct casts).
 *
 * @module
 */

import type { AttachPointText, Call, Expr, MapRef, Probe, Program, Stmt, VarRef } from "./ast.ts";
import { fail, type SourceText, type Span } from "./diagnostic.ts";
import { Lexer, type Token } from "./lexer.ts";
import { isBuiltinName } from "./builtins.ts";
import { CAST_TYPES } from "./types.ts";

/** Binary operators by precedence level, loosest first (C's order, as bpftrace). */
const BINARY_LEVELS: string[][] = [
  ["||"],
  ["&&"],
  ["|"],
  ["^"],
  ["&"],
  ["==", "!="],
  ["<=", ">=", "<", ">"],
  ["<<", ">>"],
  ["+", "-"],
  ["*", "/", "%"],
];

const COMPOUND = new Set(["+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]);

/** Statements bpftrace has that this subset does not, with what to do instead. */
const UNSUPPORTED_STATEMENTS: Record<string, string> = {
  while: "loops are not supported: unroll the work by hand or aggregate in a map",
  unroll: "loops are not supported: unroll the work by hand",
  for: "loops are not supported: print the map at exit instead of iterating it",
  return: "'return' is not supported: guard the statements with if or a predicate",
  break: "'break' is not supported outside loops (and loops are not supported)",
  continue: "'continue' is not supported outside loops (and loops are not supported)",
};

/**
 * Parse a whole program.
 *
 * @param src The program and the name its errors use.
 * @returns The syntax tree.
 * @throws {ProbeError} On a syntax error or a construct outside the subset.
 * @example
 * ```ts
 * const prog = parseProgram({ name: "stdin", text: "BEGIN { printf(\"hi\\n\"); exit(); }" });
 * prog.probes[0].attach[0].text; // "BEGIN"
 * ```
 */
export function parseProgram(src: SourceText): Program {
  const p = new Parser(src);
  return p.program();
}

class Parser {
  readonly src: SourceText;
  readonly lex: Lexer;

  constructor(src: SourceText) {
    this.src = src;
    this.lex = new Lexer(src);
  }

  program(): Program {
    const probes: Probe[] = [];
    while (!this.lex.atEnd()) probes.push(this.probe());
    if (!probes.length) {
      fail(this.src, { start: 0, end: 0 }, "the program has no probes", "e.g. BEGIN { ... }");
    }
    return { probes };
  }

  probe(): Probe {
    const attach: AttachPointText[] = [this.lex.attachPoint()];
    while (this.lex.peekChar() === ",") {
      this.lex.skipChar();
      attach.push(this.lex.attachPoint());
    }
    let predicate: Expr | undefined;
    const t = this.lex.peek();
    if (t.kind === "op" && t.text === "/") {
      this.lex.next();
      predicate = this.expr();
      this.expectKind("endpred", "'/' closing the predicate");
    } else if (t.kind === "endpred") {
      fail(this.src, t.span, "empty predicate");
    }
    const open = this.lex.peek();
    if (!(open.kind === "op" && open.text === "{")) {
      if (open.kind === "eof") {
        fail(this.src, attach[attach.length - 1].span, "unexpected end of file, expected {");
      }
      this.unexpected(open, "{");
    }
    const body = this.block();
    return {
      attach,
      predicate,
      body: body.stmts,
      span: { start: attach[0].span.start, end: body.end },
    };
  }

  block(): { stmts: Stmt[]; end: number } {
    this.expectOp("{");
    const stmts: Stmt[] = [];
    for (;;) {
      const t = this.lex.peek();
      if (t.kind === "op" && t.text === "}") {
        this.lex.next();
        return { stmts, end: t.span.end };
      }
      if (t.kind === "op" && t.text === ";") {
        this.lex.next();
        continue;
      }
      if (t.kind === "eof") fail(this.src, t.span, "unexpected end of file, expected }");
      const s = this.statement();
      stmts.push(s);
      if (s.kind === "if") continue;
      const after = this.lex.peek();
      if (after.kind === "op" && (after.text === ";" || after.text === "}")) continue;
      this.unexpected(after, "; or }");
    }
  }

  statement(): Stmt {
    const t = this.lex.peek();
    if (t.kind === "ident" && t.text in UNSUPPORTED_STATEMENTS) {
      fail(this.src, t.span, `'${t.text}' is not supported`, UNSUPPORTED_STATEMENTS[t.text]);
    }
    if (t.kind === "ident" && t.text === "if") return this.ifStatement();
    if (t.kind === "ident" && t.text === "else") fail(this.src, t.span, "'else' without 'if'");
    const start = t.span.start;
    const e = this.expr();
    const op = this.lex.peek();
    if (op.kind === "op" && (op.text === "=" || COMPOUND.has(op.text))) {
      if (e.kind !== "map" && e.kind !== "var") {
        fail(
          this.src,
          e.span,
          "only maps (@name) and variables ($name) can be assigned to",
        );
      }
      this.lex.next();
      const value = this.expr();
      return {
        kind: "assign",
        target: e as MapRef | VarRef,
        op: op.text === "=" ? undefined : op.text.slice(0, -1),
        value,
        span: { start, end: value.span.end },
      };
    }
    return { kind: "expr", expr: e, span: e.span };
  }

  ifStatement(): Stmt {
    const kw = this.lex.next();
    this.expectOp("(");
    const cond = this.expr();
    this.expectOp(")");
    const then = this.block();
    let otherwise: Stmt[] = [];
    let end = then.end;
    const t = this.lex.peek();
    if (t.kind === "ident" && t.text === "else") {
      this.lex.next();
      const n = this.lex.peek();
      if (n.kind === "ident" && n.text === "if") {
        const inner = this.ifStatement();
        otherwise = [inner];
        end = inner.span.end;
      } else {
        const b = this.block();
        otherwise = b.stmts;
        end = b.end;
      }
    }
    return { kind: "if", cond, then: then.stmts, otherwise, span: { start: kw.span.start, end } };
  }

  expr(): Expr {
    const cond = this.binary(0);
    const t = this.lex.peek();
    if (t.kind === "op" && t.text === "?") {
      this.lex.next();
      const then = this.expr();
      this.expectOp(":");
      const otherwise = this.expr();
      return {
        kind: "ternary",
        cond,
        then,
        otherwise,
        span: { start: cond.span.start, end: otherwise.span.end },
      };
    }
    return cond;
  }

  binary(level: number): Expr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.lex.peek();
      if (t.kind !== "op" || !BINARY_LEVELS[level].includes(t.text)) return left;
      this.lex.next();
      const right = this.binary(level + 1);
      left = {
        kind: "binop",
        op: t.text,
        left,
        right,
        span: { start: left.span.start, end: right.span.end },
      };
    }
  }

  unary(): Expr {
    const t = this.lex.peek();
    if (t.kind === "op" && ["-", "!", "~", "*"].includes(t.text)) {
      this.lex.next();
      const n = this.lex.peek();
      // A negative literal is one token's worth of value, as in bpftrace.
      if (t.text === "-" && n.kind === "int") {
        this.lex.next();
        return { kind: "int", value: -n.value!, span: { start: t.span.start, end: n.span.end } };
      }
      const e = this.unary();
      if (t.text === "*") {
        fail(
          this.src,
          { start: t.span.start, end: e.span.end },
          "pointer dereference (*expr) is not supported",
          "read strings with str(ptr); tracepoint fields through args->FIELD",
        );
      }
      return { kind: "unop", op: t.text, expr: e, postfix: false, span: spanOf(t.span, e.span) };
    }
    if (t.kind === "op" && (t.text === "++" || t.text === "--")) {
      this.lex.next();
      const e = this.unary();
      if (e.kind !== "map" && e.kind !== "var") {
        fail(this.src, t.span, `the ${t.text} operator must be applied to a map or variable`);
      }
      return { kind: "unop", op: t.text, expr: e, postfix: false, span: spanOf(t.span, e.span) };
    }
    if (t.kind === "op" && t.text === "(" && this.lex.peek(1).kind === "ident") {
      const name = this.lex.peek(1);
      const close = this.lex.peek(2);
      const isCast = !isBuiltinName(name.text) &&
        close.kind === "op" && (close.text === ")" || close.text === "*");
      if (isCast) {
        this.lex.next();
        this.lex.next();
        if (close.text === "*") {
          fail(
            this.src,
            spanOf(t.span, close.span),
            "pointer casts are not supported",
            "cast to an integer type such as (uint64)",
          );
        }
        this.lex.next();
        if (!CAST_TYPES.has(name.text)) {
          fail(
            this.src,
            name.span,
            `cannot cast to '${name.text}'`,
            `casts are to ${[...CAST_TYPES].join(", ")}`,
          );
        }
        const e = this.unary();
        return { kind: "cast", type: name.text, expr: e, span: spanOf(t.span, e.span) };
      }
    }
    return this.postfix(this.primary());
  }

  postfix(e: Expr): Expr {
    for (;;) {
      const t = this.lex.peek();
      if (t.kind !== "op") return e;
      if (t.text === "." || t.text === "->") {
        this.lex.next();
        const f = this.lex.next();
        if (f.kind === "int") {
          fail(this.src, spanOf(e.span, f.span), "tuples are not supported");
        }
        if (f.kind !== "ident") this.unexpected(f, "a field name");
        e = {
          kind: "field",
          expr: e,
          field: f.text,
          arrow: t.text === "->",
          span: spanOf(e.span, f.span),
        };
      } else if (t.text === "[") {
        this.lex.next();
        const index = this.expr();
        const close = this.expectOp("]");
        e = { kind: "index", expr: e, index, span: spanOf(e.span, close) };
      } else if (t.text === "++" || t.text === "--") {
        if (e.kind !== "map" && e.kind !== "var") return e;
        this.lex.next();
        e = { kind: "unop", op: t.text, expr: e, postfix: true, span: spanOf(e.span, t.span) };
      } else return e;
    }
  }

  primary(): Expr {
    const t = this.lex.next();
    switch (t.kind) {
      case "int":
        return { kind: "int", value: t.value!, span: t.span };
      case "str":
        return { kind: "str", value: t.text, span: t.span };
      case "param": {
        const n = Number(t.text.slice(1));
        if (n === 0 || !Number.isSafeInteger(n)) {
          fail(
            this.src,
            t.span,
            `param ${t.text} is out of integer range [1, ${Number.MAX_SAFE_INTEGER}]`,
          );
        }
        return { kind: "param", n, span: t.span };
      }
      case "paramcount":
        return { kind: "param", n: 0, span: t.span };
      case "var":
        return { kind: "var", name: t.text, span: t.span };
      case "map": {
        const keys: Expr[] = [];
        let end = t.span.end;
        const open = this.lex.peek();
        if (open.kind === "op" && open.text === "[") {
          this.lex.next();
          keys.push(...this.args("]"));
          end = this.expectOp("]").end;
          if (!keys.length) fail(this.src, { start: t.span.start, end }, "empty map key");
        }
        return { kind: "map", name: t.text, keys, span: { start: t.span.start, end } };
      }
      case "ident": {
        const open = this.lex.peek();
        if (open.kind === "op" && open.text === "(") {
          this.lex.next();
          const args = this.args(")");
          const end = this.expectOp(")").end;
          const call: Call = {
            kind: "call",
            name: t.text,
            args,
            nameSpan: t.span,
            span: { start: t.span.start, end },
          };
          return call;
        }
        if (["if", "else"].includes(t.text)) this.unexpected(t, "an expression");
        if (t.text in UNSUPPORTED_STATEMENTS) {
          fail(this.src, t.span, `'${t.text}' is not supported`, UNSUPPORTED_STATEMENTS[t.text]);
        }
        return { kind: "builtin", name: t.text, span: t.span };
      }
      case "op":
        if (t.text === "(") {
          const e = this.expr();
          const n = this.lex.peek();
          if (n.kind === "op" && n.text === ",") {
            fail(
              this.src,
              spanOf(t.span, n.span),
              "tuples are not supported",
              "use a multi-key map instead, e.g. @m[a, b] = ...",
            );
          }
          this.expectOp(")");
          return e;
        }
        return this.unexpected(t, "an expression");
      default:
        return this.unexpected(t, "an expression");
    }
  }

  /** Comma-separated expressions up to (not including) `close`. */
  args(close: string): Expr[] {
    const out: Expr[] = [];
    const t = this.lex.peek();
    if (t.kind === "op" && t.text === close) return out;
    for (;;) {
      out.push(this.expr());
      const n = this.lex.peek();
      if (n.kind === "op" && n.text === ",") {
        this.lex.next();
        continue;
      }
      return out;
    }
  }

  expectOp(op: string): Span {
    const t = this.lex.next();
    if (t.kind !== "op" || t.text !== op) this.unexpected(t, `'${op}'`);
    return t.span;
  }

  expectKind(kind: Token["kind"], what: string): Span {
    const t = this.lex.next();
    if (t.kind !== kind) this.unexpected(t, what);
    return t.span;
  }

  unexpected(t: Token, expected: string): never {
    const what = t.kind === "eof"
      ? "end of file"
      : t.kind === "str"
      ? "string"
      : t.kind === "endpred"
      ? "'/'"
      : `'${this.src.text.slice(t.span.start, t.span.end)}'`;
    return fail(this.src, t.span, `syntax error, unexpected ${what}, expecting ${expected}`);
  }
}

function spanOf(a: Span, b: Span): Span {
  return { start: a.start, end: b.end };
}
