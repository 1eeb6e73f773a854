/**
 * What the resolve pass needs for the providers that look beyond tracefs: `kfunc:` and
 * `kretfunc:` read the kernel's BTF, `uprobe:` and `uretprobe:` read the binary's symbols,
 * `rawtracepoint:` lists the kernel's raw tracepoints. Those modules bring the BTF parser,
 * the ELF reader and libbpf's bindings with them, so they stay out of the compiler's
 * static module graph: a program that needs none (tracepoints, interval, profile,
 * BEGIN/END) never loads them, and one that does loads only its own (see
 * {@link loadProviderSupport}; probe/compile.ts imports them all for its synchronous
 * `compileProbe`).
 *
 * @module
 */

import type { Provider } from "./context.ts";
import { importLater } from "./bundle.ts";

/** The modules of the providers that need more than tracefs; each is there when loaded. */
export interface ProviderSupport {
  /** `kfunc:`, `kretfunc:`: argument layouts from the kernel's BTF. */
  kfunc?: typeof import("./kfunc.ts");
  /** `uprobe:`, `uretprobe:`: binaries and the functions they define. */
  symbols?: typeof import("./symbols.ts");
  /** `rawtracepoint:`: the kernel's raw tracepoints. */
  listing?: typeof import("../bpf/link/listing.ts");
}

/** The support module each such provider needs. */
const NEEDS: Partial<Record<Provider, keyof ProviderSupport>> = {
  kfunc: "kfunc",
  kretfunc: "kfunc",
  uprobe: "symbols",
  uretprobe: "symbols",
  rawtracepoint: "listing",
};

/** Where each support module is, relative to the repository. */
const MODULES: Record<keyof ProviderSupport, string> = {
  kfunc: "probe/kfunc.ts",
  symbols: "probe/symbols.ts",
  listing: "bpf/link/listing.ts",
};

/**
 * The support modules some providers need.
 *
 * @param providers The providers a program uses.
 * @returns The names of the modules to load (none for tracepoints, interval, profile,
 *   BEGIN/END).
 * @example
 * ```ts
 * supportNeeded(["tracepoint", "BEGIN"]); // []
 * supportNeeded(["kretfunc", "uprobe"]); // ["kfunc", "symbols"]
 * ```
 */
export function supportNeeded(providers: Iterable<Provider>): (keyof ProviderSupport)[] {
  const out = new Set<keyof ProviderSupport>();
  for (const p of providers) {
    const need = NEEDS[p];
    if (need) out.add(need);
  }
  return [...out];
}

/**
 * Load the support modules some providers need (imported on first use: they stay out of
 * the static module graph).
 *
 * @param providers The providers a program uses.
 * @returns Their support, for the resolve pass (its `support` option).
 * @example
 * ```ts
 * const support = await loadProviderSupport(["kfunc"]);
 * support.kfunc?.kfuncFormat("vfs_read");
 * ```
 */
export async function loadProviderSupport(
  providers: Iterable<Provider>,
): Promise<ProviderSupport> {
  const support: ProviderSupport = {};
  const names = supportNeeded(providers);
  const loaded = await Promise.all(
    names.map((name) => importLater<ProviderSupport[typeof name]>(MODULES[name])),
  );
  names.forEach((name, i) => Object.assign(support, { [name]: loaded[i] }));
  return support;
}
