/**
 * JavaScript lines: rewritten for the global scope (shell/repl_code.ts: top-level `await`,
 * declarations that persist from line to line), run with a time budget, with the session in
 * scope; the result is printed with Deno.inspect.
 *
 * The budget: a line's synchronous part runs through the inspector's `Runtime.evaluate` with
 * its `timeout`, which V8 enforces from another thread. A runaway line (`while (true) {}`) is
 * stopped when the budget runs out, and the shell, the session and every kernel object stay
 * as they were. Nothing else can stop it in Deno 2.9: no signal listener runs while the main
 * isolate is busy, and `Worker.terminate()` leaves a busy worker spinning (see the README's
 * "A runaway JavaScript line"). What the line awaits runs on without a budget; Ctrl-C stops
 * waiting for it.
 *
 * Only the synchronous evaluation goes through the inspector: V8's REPL mode and
 * `awaitPromise` (the inspector settling the line's promise) abort Deno 2.9 after some
 * hundreds of lines while any promise is pending.
 *
 * In scope: `obj` (the most recent object), `objects`, `maps`, `progs`, `links`, `session`,
 * `lastError`, every map and program by name when that name is free, and the whole mod.ts API.
 *
 * @module
 */

import inspector from "node:inspector";
import type { Ctx } from "./commands/types.ts";
import { loadCore } from "./core.ts";
import { ShellError } from "./errors.ts";
import { jsonSafe } from "./output.ts";
import { bindScope } from "./scope.ts";
import { prepareCode } from "./repl_code.ts";

/** The inspector's description of a value. */
interface RemoteObject {
  type: string;
  value?: unknown;
  unserializableValue?: string;
  objectId?: string;
}

interface EvaluateResult {
  result: RemoteObject;
  exceptionDetails?: { text: string; exception?: RemoteObject };
}

/**
 * How long a line may run without a pause, in seconds: `BPFSH_JS_TIMEOUT`, default 5.
 *
 * @returns Milliseconds.
 * @example
 * ```ts
 * jsBudgetMs(); // 5000
 * ```
 */
export function jsBudgetMs(): number {
  const s = Number(Deno.env.get("BPFSH_JS_TIMEOUT") ?? "5");
  return Number.isFinite(s) && s > 0 ? s * 1000 : 5000;
}

let session: inspector.Session | undefined;
/** Where a value is handed over from the inspector to this module. */
const HANDOFF = "__bpfsh_handoff";

function post<T>(method: string, params: Record<string, unknown>): Promise<T> {
  if (!session) {
    session = new inspector.Session();
    session.connect();
  }
  const s = session;
  return new Promise((resolve, reject) => {
    s.post(
      method,
      params,
      (err: Error | null, res?: unknown) => err ? reject(err) : resolve(res as T),
    );
  });
}

/** The real value behind a RemoteObject (an object is fetched by its id into a global). */
async function valueOf(ro: RemoteObject): Promise<unknown> {
  if (ro.type === "undefined") return undefined;
  if (!ro.objectId) {
    const u = ro.unserializableValue;
    if (u !== undefined) return u.endsWith("n") ? BigInt(u.slice(0, -1)) : Number(u);
    return ro.value;
  }
  await post("Runtime.callFunctionOn", {
    objectId: ro.objectId,
    functionDeclaration: `function () { globalThis.${HANDOFF} = this; }`,
  });
  const g = globalThis as Record<string, unknown>;
  const v = g[HANDOFF];
  delete g[HANDOFF];
  return v;
}

/**
 * Run code in the global scope, its synchronous part within the budget.
 *
 * @param code The code (already prepared).
 * @param budgetMs The budget.
 * @returns The completion value.
 */
async function run(code: string, budgetMs: number): Promise<unknown> {
  let res: EvaluateResult;
  try {
    res = await post<EvaluateResult>("Runtime.evaluate", {
      expression: code,
      timeout: budgetMs,
      objectGroup: "bpfsh",
    });
  } catch (e) {
    if (/Execution was terminated/.test(String(e))) {
      throw new ShellError(
        `stopped after ${budgetMs / 1000} s of running without a pause (the session is intact)`,
        { hint: "a longer budget: BPFSH_JS_TIMEOUT=SECONDS" },
      );
    }
    throw e;
  }
  try {
    if (res.exceptionDetails) {
      const d = res.exceptionDetails;
      const thrown = d.exception ? await valueOf(d.exception) : new Error(d.text);
      throw thrown instanceof Error ? thrown : new Error(`Uncaught ${Deno.inspect(thrown)}`);
    }
    return await valueOf(res.result);
  } finally {
    await post("Runtime.releaseObjectGroup", { objectGroup: "bpfsh" }).catch(() => {});
  }
}

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
  const result = await run(prepared.code, jsBudgetMs());
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
