/**
 * Minimal assertions (JSR's @std/assert is not reachable here): the few we use, with
 * messages that show both sides.
 *
 * @module
 */

import { inspect, isDeepStrictEqual } from "node:util";

/** An assertion that failed. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/**
 * Fail unless the condition holds.
 *
 * @param cond The condition.
 * @param msg What went wrong.
 */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/**
 * Fail unless two values are deeply equal.
 *
 * @param actual The value under test.
 * @param expected The expected value.
 * @param msg Context.
 */
export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\n  actual:   ${show(actual)}\n  expected: ${
        show(expected)
      }`,
    );
  }
}

/**
 * Fail unless the string contains the substring (or matches the pattern).
 *
 * @param text The text.
 * @param part A substring or RegExp.
 */
export function assertMatch(text: string, part: string | RegExp): void {
  const ok = typeof part === "string" ? text.includes(part) : part.test(text);
  if (!ok) throw new AssertionError(`expected ${show(text)} to contain ${show(part)}`);
}

/**
 * Fail unless fn throws an error of the class; returns it for more checks.
 *
 * @param fn The code.
 * @param cls The error class.
 * @param includes A substring the message must contain.
 * @returns The error.
 */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (e) {
    return caught(e, cls, includes);
  }
  throw new AssertionError(`expected ${cls.name} to be thrown`);
}

/**
 * Async version of assertThrows.
 *
 * @param fn The code.
 * @param cls The error class.
 * @param includes A substring the message must contain.
 * @returns The error.
 */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    return caught(e, cls, includes);
  }
  throw new AssertionError(`expected ${cls.name} to be rejected`);
}

/** The error assertThrows or assertRejects caught, if it is of the class and says `includes`. */
function caught<E extends Error>(
  e: unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  includes?: string,
): E {
  if (!(e instanceof cls)) throw new AssertionError(`expected ${cls.name}, got ${show(e)}`);
  if (includes && !e.message.includes(includes)) {
    throw new AssertionError(`expected message to contain ${show(includes)}: ${e.message}`);
  }
  return e;
}

function show(v: unknown): string {
  return inspect(v, { depth: 6, breakLength: 120 });
}
