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
import type { Ctx } from "./dispatch.ts";
import { loadCore } from "./core.ts";
import { jsonSafe } from "./output.ts";
import type { Session } from "./session.ts";

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

/** Names this module defined on globalThis, so they can be redefined or removed. */
const owned = new Set<string>();

function define(name: string, get: () => unknown): void {
  if (!owned.has(name) && name in globalThis) return; // never shadow a real global
  Object.defineProperty(globalThis, name, { get, configurable: true, enumerable: false });
  owned.add(name);
}

/**
 * Put the session in the global scope: fixed names, the mod.ts API, and every map and
 * program by its name when that name is free (an ambiguous name is left out).
 *
 * @param session The session.
 * @param core The mod.ts module, once imported.
 * @example
 * ```ts
 * bindScope(session, await loadCore());
 * ```
 */
export function bindScope(session: Session, core?: Record<string, unknown>): void {
  const fixed: Record<string, () => unknown> = {
    session: () => session,
    obj: () => session.current?.obj,
    globals: () => session.current?.obj.globals,
    objects: () => Object.fromEntries([...session.objects].map(([n, lo]) => [n, lo.obj])),
    maps: () => byName(session.allMaps().map((r) => [r.map.name, r.qualified, r.map])),
    progs: () => byName(session.allProgs().map((r) => [r.prog.name, r.qualified, r.prog])),
    links: () => session.liveLinks().map((l) => l.link),
    lastError: () => session.lastError,
  };
  for (const [k, f] of Object.entries(fixed)) define(k, f);
  if (core) { for (const [k, v] of Object.entries(core)) define(k, () => v); }
  // Names of maps and programs: drop the ones no longer loaded, add the current ones.
  const wanted = new Map<string, () => unknown>();
  const count = new Map<string, number>();
  for (const r of session.allMaps()) count.set(r.map.name, (count.get(r.map.name) ?? 0) + 1);
  for (const r of session.allProgs()) count.set(r.prog.name, (count.get(r.prog.name) ?? 0) + 1);
  for (const r of session.allMaps()) {
    if (count.get(r.map.name) === 1) wanted.set(r.map.name, () => r.map);
  }
  for (const r of session.allProgs()) {
    if (count.get(r.prog.name) === 1) wanted.set(r.prog.name, () => r.prog);
  }
  for (const name of [...dynamic]) {
    if (wanted.has(name)) continue;
    delete (globalThis as Record<string, unknown>)[name];
    owned.delete(name);
    dynamic.delete(name);
  }
  for (const [name, get] of wanted) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name) || name in fixed || (core && name in core)) continue;
    if (!dynamic.has(name) && (owned.has(name) || name in globalThis)) continue;
    Object.defineProperty(globalThis, name, { get, configurable: true, enumerable: false });
    owned.add(name);
    dynamic.add(name);
  }
}

const dynamic = new Set<string>();

/** `{name: x}` with every entry also under `object.name`; clashing bare names left out. */
function byName(entries: [string, string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  for (const [n] of entries) seen.set(n, (seen.get(n) ?? 0) + 1);
  for (const [n, q, v] of entries) {
    if (seen.get(n) === 1) o[n] = v;
    o[q] = v;
  }
  return o;
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
