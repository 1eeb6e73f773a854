/**
 * Lazy symbol binding: Deno spends ~0.13 ms per symbol at `Deno.dlopen`, so binding the
 * whole libbpf table up front costs ~10 ms of start-up. Here each symbol is bound on first
 * use (a script touches about a third of them).
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
): Deno.DynamicLibrary<S>["symbols"] {
  // Handles stay referenced so their functions remain valid for the process lifetime.
  const handles: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>[] = [];
  const bind = (name: string) => {
    const lib = Deno.dlopen(path, { [name]: symbols[name] } as Deno.ForeignLibraryInterface);
    handles.push(lib);
    return lib.symbols[name];
  };
  const table = {} as Record<string, unknown>;
  for (const name of Object.keys(symbols)) {
    Object.defineProperty(table, name, {
      configurable: true,
      enumerable: true,
      get() {
        let fn: unknown;
        try {
          fn = bind(name);
        } catch (e) {
          throw new BpfError({
            op: `bind ${name}`,
            message: `'${path}' has no symbol '${name}': ${(e as Error).message}`,
            hint: "this feature needs a newer library version",
          });
        }
        Object.defineProperty(table, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  void table[probe];
  return table as Deno.DynamicLibrary<S>["symbols"];
}
