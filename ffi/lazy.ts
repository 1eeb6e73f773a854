/**
 * Lazy symbol binding: Deno compiles a call stub for each symbol at `Deno.dlopen` (dearer
 * with `buffer` parameters), and each `Deno.dlopen` call costs something of its own, so
 * binding the whole libbpf table up front costs milliseconds of start-up (the figures are
 * in bench/NOTES.md). Here each
 * symbol is bound on first use (a script touches about a third of them), and symbols that
 * are always used together (a group: those opening, loading and attaching an object, say)
 * are bound together, in one `Deno.dlopen` call.
 *
 * @module
 */

import { BpfError } from "./errors.ts";

/**
 * Open a library and return its symbol table, binding each symbol on first access.
 *
 * @param path The library (e.g. `"libbpf.so.1"`).
 * @param symbols The symbol definitions.
 * @param probe A symbol bound at once, so a missing library fails here, not later.
 * @param groups Symbols bound all at once, when the first of a group is used.
 * @returns An object with the same shape as `Deno.dlopen(path, symbols).symbols`.
 * @example
 * ```ts
 * const sym = openLazily("libc.so.6", { close: { parameters: ["i32"], result: "i32" } }, "close");
 * sym.close(3);
 * ```
 */
export function openLazily<S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
  probe: keyof S & string,
  groups: readonly (readonly (keyof S & string)[])[] = [],
): Deno.DynamicLibrary<S>["symbols"] {
  // Handles stay referenced so their functions remain valid for the process lifetime.
  const handles: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>[] = [];
  const table = {} as Record<string, unknown>;
  const groupOf = new Map<string, readonly string[]>();
  for (const g of groups) for (const name of g) groupOf.set(name, g);
  const define = (name: string, fn: unknown) =>
    Object.defineProperty(table, name, { value: fn, enumerable: true });
  const bind = (names: readonly string[]) => {
    const defs: Deno.ForeignLibraryInterface = {};
    for (const n of names) defs[n] = symbols[n];
    const lib = Deno.dlopen(path, defs);
    handles.push(lib);
    for (const n of names) define(n, (lib.symbols as Record<string, unknown>)[n]);
  };
  /** Bind a group's symbols not bound yet; false when one of them is missing. */
  const bindGroup = (group: readonly string[]) => {
    const unbound = group.filter((n) => Object.getOwnPropertyDescriptor(table, n)?.get);
    try {
      bind(unbound);
      return true;
    } catch {
      return false; // each is then bound alone, and a missing one says which it is
    }
  };
  for (const name of Object.keys(symbols)) {
    Object.defineProperty(table, name, {
      configurable: true,
      enumerable: true,
      get() {
        const group = groupOf.get(name);
        // One try per group: after a failed one, its symbols are bound one by one.
        if (group) { for (const n of group) groupOf.delete(n); }
        if (!group || !bindGroup(group)) {
          try {
            bind([name]);
          } catch (e) {
            throw new BpfError({
              op: `bind ${name}`,
              message: `'${path}' has no symbol '${name}': ${(e as Error).message}`,
              hint: "this feature needs a newer library version",
            });
          }
        }
        return table[name];
      },
    });
  }
  void table[probe];
  return table as Deno.DynamicLibrary<S>["symbols"];
}
