/**
 * JavaScript lines: evaluated in the global scope the way Deno's own REPL does it (V8's REPL
 * mode through the inspector protocol: top-level `await`, `const` that persists from line to
 * line), with the session in scope and the result printed with Deno.inspect.
 *
 * In scope: `obj` (the most recent object), `objects`, `maps`, `progs`, `links`, `session`,
 * `lastError`, every map and program by name when that name is free, and the whole mod.ts API.
 *
 * @module
 */

import inspector from "node:inspector";
import type { Ctx } from "./commands/types.ts";
import { loadCore } from "./core.ts";
import { jsonSafe } from "./output.ts";
import { bindScope } from "./scope.ts";

/** The inspector's description of a value. */
interface RemoteObject {
  type: string;
  subtype?: string;
  value?: unknown;
  unserializableValue?: string;
  objectId?: string;
  description?: string;
}

interface EvaluateResult {
  result: RemoteObject;
  exceptionDetails?: {
    text: string;
    exception?: RemoteObject;
    lineNumber: number;
    columnNumber: number;
  };
}

let inspectorSession: inspector.Session | undefined;
/** Where results are handed over from the inspector to this module. */
const HANDOFF = "__bpfsh_handoff";

function post<T>(method: string, params: Record<string, unknown>): Promise<T> {
  if (!inspectorSession) {
    inspectorSession = new inspector.Session();
    inspectorSession.connect();
  }
  const s = inspectorSession;
  return new Promise((resolve, reject) => {
    s.post(
      method,
      params,
      (err: Error | null, res?: unknown) => err ? reject(err) : resolve(res as T),
    );
  });
}

/** The real value behind a RemoteObject (objects are fetched by id into a global). */
async function valueOf(ro: RemoteObject): Promise<unknown> {
  if (ro.type === "undefined") return undefined;
  if (!ro.objectId) {
    if (ro.unserializableValue !== undefined) {
      const u = ro.unserializableValue;
      return u.endsWith("n") ? BigInt(u.slice(0, -1)) : Number(u);
    }
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
 * Evaluate a line of JavaScript and print its value (nothing for `undefined`).
 *
 * @param code The code.
 * @param ctx The shell context (session in scope, printer).
 * @param signal Ctrl-C: stop waiting for the result (the code itself runs on).
 * @returns When done; throws what the code threw.
 * @example
 * ```ts
 * await evaluate("counts.count()", ctx, new AbortController().signal);
 * ```
 */
export async function evaluate(code: string, ctx: Ctx, signal: AbortSignal): Promise<void> {
  const core = await loadCore();
  bindScope(ctx.session, core as unknown as Record<string, unknown>);
  const run = post<EvaluateResult>("Runtime.evaluate", {
    expression: code,
    replMode: true,
    awaitPromise: true,
    objectGroup: "bpfsh",
  });
  const stopped = new Promise<"stopped">((resolve) => {
    if (signal.aborted) resolve("stopped");
    signal.addEventListener("abort", () => resolve("stopped"), { once: true });
  });
  const res = await Promise.race([run, stopped]);
  if (res === "stopped") {
    ctx.out.info("(stopped waiting; the code keeps running in the background)");
    return;
  }
  try {
    if (res.exceptionDetails) {
      const d = res.exceptionDetails;
      const thrown = d.exception ? await valueOf(d.exception) : new Error(d.text);
      throw thrown instanceof Error ? thrown : new Error(`Uncaught ${Deno.inspect(thrown)}`);
    }
    const value = await valueOf(res.result);
    printValue(ctx, value);
  } finally {
    void post("Runtime.releaseObjectGroup", { objectGroup: "bpfsh" }).catch(() => {});
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
