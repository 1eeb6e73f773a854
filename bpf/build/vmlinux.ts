/**
 * `vmlinux.h` for the running kernel: generated from its BTF by bpftool once per kernel
 * build and kept in the cache, so CO-RE programs can `#include "vmlinux.h"`.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { buildIdOf, parseNotes } from "../elf/notes.ts";
import { cacheDir, exists, PRIVATE, sha256Hex, writeFileAtomic } from "./cache.ts";
import { cacheEntry, trustedCacheDir, trustedEntry } from "./trust.ts";
import { findTool, runTool } from "./toolchain.ts";

/** Where the kernel publishes its BTF. */
const KERNEL_BTF = "/sys/kernel/btf/vmlinux";
/** ELF notes of the running kernel, including its GNU build id. */
const KERNEL_NOTES = "/sys/kernel/notes";

let kernelKeyMemo: Promise<string> | undefined;

/**
 * Find the GNU build id in a blob of ELF notes.
 *
 * @param notes The raw contents of `/sys/kernel/notes` (little-endian ELF notes).
 * @returns The build id as hex, or undefined when there is none.
 * @example
 * ```ts
 * parseBuildId(await Deno.readFile("/sys/kernel/notes")); // "e4f18d9d…"
 * ```
 */
export function parseBuildId(notes: Uint8Array): string | undefined {
  return buildIdOf(parseNotes(notes));
}

/**
 * A key naming the running kernel build: its GNU build id when `/sys/kernel/notes` is
 * readable, else a hash of its BTF and `uname -r`. Computed once per process.
 *
 * @returns A short string such as `"build-e4f18d9dc1d0e6fc2b17e93e885a647b3c0a6fc1"`.
 * @example
 * ```ts
 * await kernelKey(); // "build-e4f18d9d…"
 * ```
 */
export function kernelKey(): Promise<string> {
  kernelKeyMemo ??= (async () => {
    try {
      const id = parseBuildId(await Deno.readFile(KERNEL_NOTES));
      if (id) return `build-${id}`;
    } catch {
      // Not readable here (containers); fall back to the BTF itself.
    }
    let btf: Uint8Array = new Uint8Array();
    try {
      btf = await Deno.readFile(KERNEL_BTF);
    } catch {
      // No BTF: the release alone must do.
    }
    return `btf-${(await sha256Hex([btf, Deno.osRelease()])).slice(0, 40)}`;
  })();
  return kernelKeyMemo;
}

const headerMemo = new Map<string, Promise<string>>();

/**
 * The directory holding `vmlinux.h` for the running kernel, generating it first when the
 * cache lacks it. Generation runs `bpftool btf dump file /sys/kernel/btf/vmlinux format c`
 * once per kernel build; the file appears atomically, so concurrent callers and other
 * processes never read half of it.
 *
 * @param opts `cacheDir` overrides the cache directory (see {@link cacheDir}).
 * @returns An absolute directory to pass to clang as `-I`.
 * @throws {BpfError} op `"compile"` when the kernel has no BTF or bpftool is missing or fails;
 *   op `"compile cache"` when the cache directory or its vmlinux.h cannot be trusted.
 * @example
 * ```ts
 * const dir = await vmlinuxHeaderDir(); // "/root/.cache/bpfsh/vmlinux/build-e4f1…"
 * ```
 */
export async function vmlinuxHeaderDir(opts: { cacheDir?: string } = {}): Promise<string> {
  const dir = `${trustedCacheDir(opts.cacheDir ?? cacheDir())}/vmlinux/${await kernelKey()}`;
  const header = `${dir}/vmlinux.h`;
  let pending = headerMemo.get(header);
  // A memo whose file was removed meanwhile (a wiped cache) must regenerate.
  if (pending && cacheEntry(header) === "missing") pending = undefined;
  if (!pending) {
    pending = generate(header).then(() => dir);
    headerMemo.set(header, pending);
    pending.catch(() => headerMemo.delete(header));
  }
  return pending;
}

/** Write vmlinux.h at `header` unless it is already there (and trusted: clang reads it). */
async function generate(header: string): Promise<void> {
  if (trustedEntry(header)) return;
  if (!(await exists(KERNEL_BTF))) {
    throw new BpfError({
      op: "compile",
      message: `cannot generate vmlinux.h: '${KERNEL_BTF}' is missing`,
      hint: "this kernel was built without CONFIG_DEBUG_INFO_BTF: " +
        "include <linux/bpf.h> instead of vmlinux.h, or supply a vmlinux.h beside the source",
    });
  }
  const bpftool = await findTool("bpftool");
  const args = ["btf", "dump", "file", KERNEL_BTF, "format", "c"];
  const out = await runTool("bpftool", bpftool, args);
  if (out.code !== 0 || out.stdout.length === 0) {
    throw new BpfError({
      op: "compile",
      message: `cannot generate vmlinux.h: bpftool exited with code ${out.code}`,
      log: out.stderr,
      hint: "check that bpftool works: bpftool btf dump file /sys/kernel/btf/vmlinux format c",
    });
  }
  await writeFileAtomic(header, out.stdout, PRIVATE);
}
