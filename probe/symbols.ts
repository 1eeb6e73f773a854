/**
 * The functions a binary exports, for uprobe wildcards, `-l uprobe:BIN:*` and "did you
 * mean" hints; and finding a binary the way a shell would (PATH, library directories).
 *
 * @module
 */

import { elfSections, elfSymbols, SHT_DYNSYM, SHT_SYMTAB } from "../bpf/elf/elf.ts";

const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const LIB_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib",
  "/lib",
];

const memo = new Map<string, string[]>();

/**
 * The defined function symbols of an ELF binary (`.symtab` and `.dynsym`), sorted, unique.
 *
 * @param path The binary.
 * @returns The names; empty when the file cannot be read as ELF.
 * @example
 * ```ts
 * functionSymbols("/bin/bash").includes("readline"); // true
 * ```
 */
export function functionSymbols(path: string): string[] {
  let names = memo.get(path);
  if (!names) {
    const set = new Set<string>();
    try {
      const bytes = Deno.readFileSync(path);
      const sections = elfSections(bytes);
      for (const type of [SHT_SYMTAB, SHT_DYNSYM]) {
        for (const s of elfSymbols(bytes, sections, type)) {
          if ((s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.section !== 0 && s.name) {
            set.add(s.name.replace(/@.*$/, ""));
          }
        }
      }
    } catch {
      // Not readable or not ELF: no symbols.
    }
    names = [...set].sort();
    memo.set(path, names);
  }
  return names;
}

/**
 * Find a binary: a path as given, else a name on PATH, else a library name in the usual
 * library directories (`libc.so.6`).
 *
 * @param name What the probe names.
 * @returns The path, or undefined when nothing matches.
 * @example
 * ```ts
 * findBinary("bash"); // "/usr/bin/bash"
 * ```
 */
export function findBinary(name: string): string | undefined {
  const isFile = (p: string) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  };
  if (name.includes("/")) return isFile(name) ? name : undefined;
  const dirs = /\.so(\.|$)/.test(name)
    ? LIB_DIRS
    : (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").filter(Boolean);
  for (const d of dirs) if (isFile(`${d}/${name}`)) return `${d}/${name}`;
  return undefined;
}
