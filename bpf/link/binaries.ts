/**
 * The binaries of uprobes and USDT: which file a target names (a path, a program found
 * through PATH, or a shared library found the way the dynamic loader finds it:
 * LD_LIBRARY_PATH, ld.so.conf, the standard directories, or with a pid that process's
 * mappings), opened only when it is a regular ELF file, and its function symbols.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { ElfImage } from "../elf/image.ts";
import { pathExists } from "../system/files.ts";

/** Library directories the loader searches when ld.so.conf says nothing. */
const STANDARD_LIB_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
];

/**
 * Resolve a uprobe binary to an absolute path.
 *
 * @param binary `/bin/bash`, `bash`, `libc.so.6` or `libc`.
 * @param op The operation, for errors.
 * @param pid When given (not -1), libraries are looked up in this process's mappings first.
 * @returns The path.
 * @throws {BpfError} ENOENT when nothing by that name exists.
 * @example
 * ```ts
 * resolveBinary("libc.so.6", "attach"); // "/lib/x86_64-linux-gnu/libc.so.6"
 * ```
 */
export function resolveBinary(binary: string, op: string, pid = -1): string {
  if (binary.includes("/")) {
    if (!pathExists(binary)) {
      throw new BpfError({ op, errno: ERRNO.ENOENT, message: `binary '${binary}' not found` });
    }
    return binary;
  }
  const isLibrary = /^lib/.test(binary) || /\.so(\.|$)/.test(binary);
  if (isLibrary) {
    const found = (pid > 0 ? fromMaps(binary, pid) : undefined) ?? fromLibraryDirs(binary);
    if (found) return found;
    throw new BpfError({
      op,
      errno: ERRNO.ENOENT,
      message: `library '${binary}' not found`,
      hint: "give its full path (ldconfig -p | grep NAME)",
    });
  }
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    const full = `${dir || "."}/${binary}`;
    if (isFile(full)) return full;
  }
  throw new BpfError({ op, errno: ERRNO.ENOENT, message: `'${binary}' not found in PATH` });
}

/** `libc` matches libc.so.6 and libc-2.36.so; `libc.so.6` matches only itself. */
function libraryMatches(file: string, wanted: string): boolean {
  if (file === wanted) return true;
  return !wanted.includes(".so") &&
    (file.startsWith(`${wanted}.so`) || file.startsWith(`${wanted}-`));
}

function fromMaps(binary: string, pid: number): string | undefined {
  let text = "";
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/maps`);
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const path = line.slice(line.indexOf("/"));
    if (line.includes("/") && libraryMatches(path.replace(/^.*\//, ""), binary)) return path;
  }
  return undefined;
}

function fromLibraryDirs(binary: string): string | undefined {
  const dirs = [
    ...(Deno.env.get("LD_LIBRARY_PATH") ?? "").split(":").filter(Boolean),
    ...ldSoConfDirs(),
    ...STANDARD_LIB_DIRS,
  ];
  for (const dir of dirs) {
    if (binary.includes(".so")) {
      if (isFile(`${dir}/${binary}`)) return `${dir}/${binary}`;
      continue;
    }
    let names: string[] = [];
    try {
      names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    } catch {
      continue;
    }
    const hit = names.find((n) => libraryMatches(n, binary) && isFile(`${dir}/${n}`));
    if (hit) return `${dir}/${hit}`;
  }
  return undefined;
}

function ldSoConfDirs(): string[] {
  const out: string[] = [];
  const read = (path: string, depth: number) => {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      return;
    }
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").trim();
      if (!line) continue;
      const inc = /^include\s+(.+)$/.exec(line);
      if (inc && depth < 3) {
        const pattern = inc[1];
        const dir = pattern.replace(/\/[^/]*$/, "");
        try {
          for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
            if (e.name.endsWith(".conf")) read(`${dir}/${e.name}`, depth + 1);
          }
        } catch {
          // No such directory.
        }
      } else if (line.startsWith("/")) {
        out.push(line);
      }
    }
  };
  read("/etc/ld.so.conf", 0);
  return out;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Open a uprobe or USDT binary: only a regular file is opened (a FIFO or a device would
 * block or mislead), and a file that is not ELF says so.
 *
 * @param path The resolved path.
 * @param op The operation, for errors.
 * @returns The open image; close it (or `using`).
 * @throws {BpfError} ENOENT, EINVAL for anything but a regular file, ENOEXEC "not an ELF file".
 * @example
 * ```ts
 * using elf = openBinary("/bin/bash", "attach");
 * ```
 */
export function openBinary(path: string, op: string): ElfImage {
  if (!pathExists(path)) {
    throw new BpfError({ op, errno: ERRNO.ENOENT, message: `cannot read '${path}'` });
  }
  try {
    return ElfImage.open(path);
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    const why = e.message.split("\n")[0].replace(/^elf (open|parse): /, "");
    if (e.op === "elf open") {
      const hint = e.errno === ERRNO.EINVAL ? "give an executable or a shared library" : undefined;
      throw new BpfError({ op, errno: e.errno, message: why, hint, cause: e });
    }
    throw new BpfError({ op, errno: ERRNO.ENOEXEC, message: why, cause: e });
  }
}

/** A function symbol of a binary. */
export interface BinaryFunction {
  /** Its name. */
  readonly name: string;
  /** Its linked address. */
  readonly value: number;
  /** Its size (0 when unknown). */
  readonly size: number;
  /** `STB_*` (0 LOCAL). */
  readonly bind: number;
  /** `STT_*` (2 FUNC, 10 GNU_IFUNC). */
  readonly type: number;
}

/**
 * The function symbols of a binary (`.symtab`, and `.dynsym` for what `.symtab` lacks).
 *
 * @param elf The open binary.
 * @param want Only names this accepts (all when omitted).
 * @returns The functions.
 * @example
 * ```ts
 * binaryFunctions(elf, (n) => n === "malloc");
 * ```
 */
export function binaryFunctions(
  elf: ElfImage,
  want: (name: string) => boolean = () => true,
): BinaryFunction[] {
  const out: BinaryFunction[] = [];
  const seen = new Set<string>();
  for (const table of [".symtab", ".dynsym"] as const) {
    const syms = elf.functionSymbols(table);
    if (!syms) continue;
    const decoder = new TextDecoder();
    for (let i = 0; i < syms.value.length; i++) {
      const at = syms.nameOffset[i];
      let end = at;
      while (end < syms.strings.length && syms.strings[end] !== 0) end++;
      const name = decoder.decode(syms.strings.subarray(at, end)).replace(/@.*$/, "");
      if (!name || !want(name)) continue;
      const key = `${name}\0${syms.value[i]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        name,
        value: syms.value[i],
        size: syms.size[i],
        bind: syms.bind[i],
        type: syms.type?.[i] ?? 2,
      });
    }
  }
  return out;
}
