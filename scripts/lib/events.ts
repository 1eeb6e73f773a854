/**
 * Opening the BPF object that sits beside a script.
 *
 * @module
 */

import { BpfObject } from "../../mod.ts";

/**
 * Open the `.bpf.c` beside a script (compiled on first use, then from the cache), whatever
 * the current directory.
 *
 * @param scriptUrl The script's `import.meta.url`.
 * @param file The source's file name, e.g. `"execsnoop.bpf.c"`.
 * @returns The opened, not yet loaded object.
 * @example
 * ```ts
 * using obj = await openBeside(import.meta.url, "execsnoop.bpf.c");
 * ```
 */
export function openBeside(scriptUrl: string, file: string): Promise<BpfObject> {
  return BpfObject.open(decodeURIComponent(new URL(file, scriptUrl).pathname));
}
