/**
 * The JavaScript scope of the shell: the session's objects, maps and programs as globals
 * (getters, so they always show the current state), and the mod.ts API.
 *
 * @module
 */

import type { Session } from "./session.ts";

/** Names this module defined on globalThis, so they can be redefined or removed. */
const owned = new Set<string>();
/** The subset of names that are maps and programs (they come and go with objects). */
const dynamic = new Set<string>();

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
