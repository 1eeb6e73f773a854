/**
 * Reading a typed line: is it a command or JavaScript, where do `;`-separated commands
 * split, and what are its words.
 *
 * @module
 */

import parseArgsStringToArgv from "string-argv";

/**
 * The command word a line starts with, when it looks like one: a name followed by a space,
 * a `;` or the end (so `maps.counts.count()` and `map = new Map()` are JavaScript).
 *
 * @param text The line.
 * @returns The word, or undefined.
 * @example
 * ```ts
 * firstWord("map dump counts"); // "map"
 * firstWord("maps.counts.count()"); // undefined
 * ```
 */
export function firstWord(text: string): string | undefined {
  const m = /^\s*([A-Za-z][\w-]*)(?=\s|;|$)(\s*)(.?)(.?)/.exec(text);
  if (!m) return undefined;
  // `x = 1`, `x += 1`, `x == y` and `x ? a : b` are JavaScript even when x is a command name.
  if (m[2] && /[=?]/.test(m[3]) && m[4] !== ">" && !(m[3] === "=" && m[4] === "")) return undefined;
  if (m[2] && /[+\-*/%&|^<>]/.test(m[3]) && m[4] === "=") return undefined;
  return m[1];
}

/**
 * Split a line on `;` outside quotes, template strings and brackets (so the `;`s of a
 * JavaScript `for (;;)` or `{ a; b }` stay in one piece).
 *
 * @param text The line.
 * @returns The pieces, trimmed, empty ones dropped; each keeps its offset in the line.
 * @example
 * ```ts
 * splitCommands("load a.o; map dump counts").map((p) => p.text);
 * // ["load a.o", "map dump counts"]
 * ```
 */
export function splitCommands(text: string): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = [];
  let quote = "";
  let depth = 0;
  let start = 0;
  const push = (end: number) => {
    const piece = text.slice(start, end);
    const lead = piece.length - piece.trimStart().length;
    if (piece.trim()) out.push({ text: piece.trim(), offset: start + lead });
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") {
      quote = c;
    } else if (c === "(" || c === "[" || c === "{") {
      depth++;
    } else if ((c === ")" || c === "]" || c === "}") && depth > 0) {
      depth--;
    } else if (c === ";" && depth === 0) {
      push(i);
      start = i + 1;
    }
  }
  push(text.length);
  return out;
}

/**
 * The words of a command, with shell-like quoting.
 *
 * @param text One command.
 * @returns The words, quotes removed.
 * @example
 * ```ts
 * tokenize(`map get names "a b"`); // ["map", "get", "names", "a b"]
 * ```
 */
export function tokenize(text: string): string[] {
  return parseArgsStringToArgv(text);
}

/**
 * Quote a word so that {@link tokenize} gives it back unchanged.
 *
 * @param word A word.
 * @returns The word, quoted when it holds spaces or quotes.
 * @example
 * ```ts
 * quoteWord("a b"); // '"a b"'
 * ```
 */
export function quoteWord(word: string): string {
  if (word !== "" && !/[\s'"`;]/.test(word)) return word;
  return word.includes('"') ? `'${word}'` : `"${word}"`;
}
