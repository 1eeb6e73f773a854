/**
 * JavaScript lines: evaluated in the global scope (shell/repl_code.ts: top-level `await`,
 * declarations that persist from line to line), with the session in scope and the result
 * printed with Deno.inspect.
 *
 * In scope: `obj` (the most recent object), `objects`, `maps`, `progs`, `links`, `session`,
 * `lastError`, every map and program by name when that name is free, and the whole mod.ts API.
 *
 * @module
 */

import type { Ctx } from "./commands/types.ts";
import { loadCore } from "./core.ts";
import { jsonSafe } from "./output.ts";
import { bindScope } from "./scope.ts";
import { prepareCode } from "./repl_code.ts";

/** An indirect eval: the code runs in the global scope, its `var`s become globals. */
const globalEval = eval;

/**
 * Evaluate a line of JavaScript and print its value (nothing for `undefined`).
 *
 * @param code The code.
 * @param ctx The shell context (session in scope, printer).
 * @param signal Ctrl-C: stop waiting for an `await` (the awaited work itself runs on).
 * @returns When done; throws what the code threw.
 * @example
 * ```ts
 * await evaluate("counts.count()", ctx, new AbortController().signal);
 * ```
 */
export async function evaluate(code: string, ctx: Ctx, signal: AbortSignal): Promise<void> {
  const core = await loadCore();
  bindScope(ctx.session, core as unknown as Record<string, unknown>);
  const prepared = prepareCode(code);
  const result = globalEval(prepared.code);
  if (!prepared.async) return printValue(ctx, result);
  let stop = () => {};
  const stopped = new Promise<"stopped">((resolve) => {
    stop = () => resolve("stopped");
    if (signal.aborted) stop();
    signal.addEventListener("abort", stop, { once: true });
  });
  try {
    const res = await Promise.race([result as Promise<{ value: unknown } | undefined>, stopped]);
    if (res === "stopped") {
      ctx.out.info("(stopped waiting; the code keeps running in the background)");
      return;
    }
    printValue(ctx, res?.value);
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/**
 * Print a JavaScript result: Deno.inspect in table mode, JSON/YAML otherwise.
 *
 * @param ctx The shell context.
 * @param value The value.
 * @example
 * ```ts
 * printValue(ctx, { a: 1n });
 * ```
 */
export function printValue(ctx: Ctx, value: unknown): void {
  if (value === undefined) return;
  const out = ctx.out;
  if (out.format === "table") {
    out.line(
      Deno.inspect(value, {
        colors: out.color,
        depth: 4,
        iterableLimit: 200,
        strAbbreviateSize: 1000,
      }),
    );
    return;
  }
  try {
    out.value(jsonSafe(value));
  } catch {
    out.line(JSON.stringify(String(value)));
  }
}
