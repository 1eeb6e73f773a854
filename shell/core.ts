/**
 * The core library, imported on first use: the prompt appears before libbpf is opened, and a
 * command that needs no kernel object never pays for it.
 *
 * @module
 */

/** The public scripting API (`mod.ts`). */
export type Core = typeof import("../mod.ts");
export type { BpfMap, BpfObject, Btf, Link, Program } from "../mod.ts";

let core: Promise<Core> | undefined;
let loadedModule: Core | undefined;

/**
 * The core library, imported once.
 *
 * @returns The `mod.ts` module.
 * @example
 * ```ts
 * const { BpfObject } = await loadCore();
 * ```
 */
export function loadCore(): Promise<Core> {
  core ??= import("../mod.ts").then((m) => (loadedModule = m));
  return core;
}

/**
 * The core library if it was already imported, without importing it.
 *
 * @returns The module, or undefined before the first {@link loadCore} finished.
 * @example
 * ```ts
 * loadedCore()?.BpfError;
 * ```
 */
export function loadedCore(): Core | undefined {
  return loadedModule;
}

/**
 * An export of the core that may not exist in every build (features, tracePipe): a clear
 * error instead of "undefined is not a function".
 *
 * @param name The export's name.
 * @returns The export.
 * @example
 * ```ts
 * const tracePipe = await coreExport<() => AsyncIterable<unknown>>("tracePipe");
 * ```
 */
export async function coreExport<T>(name: string): Promise<T> {
  const mod = await loadCore() as unknown as Record<string, unknown>;
  const v = mod[name];
  if (v === undefined) {
    throw new Error(`this bpfsh build has no '${name}' in mod.ts`);
  }
  return v as T;
}
