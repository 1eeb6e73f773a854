/**
 * The functions a uprobe binary exports, for wildcards and "did you mean" hints, through
 * bpf/link's binary reader (regular ELF files only, `.symtab` and `.dynsym`).
 *
 * @module
 */

import { binaryFunctions, openBinary, resolveBinary } from "../bpf/link/binaries.ts";

const memo = new Map<string, string[]>();

/**
 * The defined function names of a binary, sorted and unique.
 *
 * @param path The binary's path.
 * @returns The names; empty when the file cannot be read as ELF.
 * @example
 * ```ts
 * functionSymbols("/bin/bash").includes("readline"); // true
 * ```
 */
export function functionSymbols(path: string): string[] {
  let names = memo.get(path);
  if (!names) {
    try {
      using elf = openBinary(path, "read symbols");
      names = [...new Set(binaryFunctions(elf).map((f) => f.name))].sort();
    } catch {
      names = [];
    }
    memo.set(path, names);
  }
  return names;
}

/**
 * Find a binary as a uprobe does: a path as given, a program on PATH, or a library.
 *
 * @param name What the probe names.
 * @returns The path, or undefined when nothing matches.
 * @example
 * ```ts
 * findBinary("bash"); // "/usr/bin/bash"
 * ```
 */
export function findBinary(name: string): string | undefined {
  try {
    return resolveBinary(name, "find binary");
  } catch {
    return undefined;
  }
}
