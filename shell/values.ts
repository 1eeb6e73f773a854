/**
 * Values typed on a command line (`map set counts 1000 5`, `--set filter_uid=0`, `--data
 * 00ff`) turned into what the core's BTF codecs accept.
 *
 * @module
 */

import { ShellError } from "./errors.ts";

/**
 * Parse a typed value: integers (decimal, hex, `5n`; bigint when beyond 2^53), booleans,
 * JSON, `hex:…` bytes, a JavaScript literal (`{uid: 1}`), else the text as a string.
 *
 * @param text The text as typed (quotes already removed by the tokenizer, or kept).
 * @returns A number, bigint, boolean, string, object, array or Uint8Array.
 * @example
 * ```ts
 * parseValue("1000"); // 1000
 * parseValue("0x10"); // 16
 * parseValue("18446744073709551615"); // 18446744073709551615n
 * parseValue("{uid: 1}"); // { uid: 1 }
 * parseValue("bash"); // "bash"
 * ```
 */
export function parseValue(text: string): unknown {
  const t = text.trim();
  if (/^[-+]?\d+$/.test(t)) return intOf(BigInt(t));
  if (/^[-+]?0x[0-9a-f]+$/i.test(t)) {
    const neg = t.startsWith("-");
    const n = BigInt(t.replace(/^[-+]/, ""));
    return intOf(neg ? -n : n);
  }
  if (/^[-+]?\d+n$/.test(t)) return BigInt(t.slice(0, -1));
  if (/^[-+]?\d*\.\d+$/.test(t)) return Number(t);
  if (t === "true") return true;
  if (t === "false") return false;
  if (/^hex:/i.test(t)) return parseHex(t.slice(4));
  if (/^["'{[]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      // Not JSON: try it as a JavaScript literal below.
    }
    try {
      return new Function(`"use strict"; return (${t});`)();
    } catch {
      if (/^(["']).*\1$/.test(t)) return t.slice(1, -1);
      throw new ShellError(`cannot parse value '${t}'`, {
        hint: 'write numbers, JSON ({"uid": 1}), a JS literal ({uid: 1}) or hex:00ff',
      });
    }
  }
  return t;
}

function intOf(n: bigint): number | bigint {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(n)
    : n;
}

/**
 * Parse hex bytes, allowing `0x`, spaces, colons and dashes between bytes.
 *
 * @param text e.g. `"de ad be ef"`, `"0xdeadbeef"`, `"de:ad"`.
 * @returns The bytes.
 * @example
 * ```ts
 * parseHex("00ff"); // Uint8Array [0, 255]
 * ```
 */
export function parseHex(text: string): Uint8Array {
  const clean = text.trim().replace(/^0x/i, "").replace(/[\s:-]/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new ShellError(`'${text}' is not hex bytes`, {
      hint: "write pairs of hex digits, e.g. 00ff",
    });
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Parse a positive integer option (a count, a size, seconds).
 *
 * @param text The option's text.
 * @param what The option's name, for the error.
 * @returns The number.
 * @example
 * ```ts
 * parseCount("5", "--count"); // 5
 * ```
 */
export function parseCount(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    throw new ShellError(`${what} must be a non-negative number, not '${text}'`, { usage: true });
  }
  return n;
}

/**
 * Split `VAR=VALUE` into its name and parsed value.
 *
 * @param text e.g. `"filter_uid=1000"`.
 * @returns The name and value.
 * @example
 * ```ts
 * parseAssign("filter_uid=1000"); // ["filter_uid", 1000]
 * ```
 */
export function parseAssign(text: string): [string, unknown] {
  const i = text.indexOf("=");
  if (i <= 0) {
    throw new ShellError(`'${text}' is not VAR=VALUE`, { usage: true });
  }
  return [text.slice(0, i), parseValue(text.slice(i + 1))];
}
