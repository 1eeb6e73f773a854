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
