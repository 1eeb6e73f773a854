/**
 * Minimal CO-RE BTF per object and kernel (the BTFGen technique of `bpftool gen
 * min_core_btf`): a few hundred bytes holding just the kernel types an object's CO-RE
 * relocations name. Given to libbpf as `btf_custom_path`, it spares the load from parsing
 * the whole kernel BTF (megabytes: most of a load's time, as the README's Speed section
 * measures).
 *
 * Made next to every compiled object; looked up by the object's bytes and the kernel build,
 * so a new kernel or a changed object never meets a stale file.
 *
 * @module
 */

import { cacheDir, PRIVATE } from "./cache.ts";
import { cacheEntry, trustedCacheDir } from "./trust.ts";
import { findTool, runTool } from "./toolchain.ts";
import { parseBuildId } from "./vmlinux.ts";

const KERNEL_BTF = "/sys/kernel/btf/vmlinux";
let kernelBuild: string | null | undefined;

/**
 * The running kernel's GNU build id, read synchronously (an open must not wait).
 *
 * @returns The build id, or undefined when /sys/kernel/notes is not readable.
 * @example
 * ```ts
 * kernelBuildId(); // "e4f18d9d…"
 * ```
 */
export function kernelBuildId(): string | undefined {
  if (kernelBuild === undefined) {
    try {
      kernelBuild = parseBuildId(Deno.readFileSync("/sys/kernel/notes")) ?? null;
    } catch {
      kernelBuild = null;
    }
  }
  return kernelBuild ?? undefined;
}

/**
 * A fast 64-bit digest of an object's bytes and its length: FNV-1a style over 32-bit words
 * in two lanes (an open runs it once, mostly before V8 has compiled it, so fewer iterations
 * matter more than fewer operations).
 *
 * @param bytes The object file.
 * @returns A hex string.
 * @example
 * ```ts
 * objectDigest(Deno.readFileSync("x.bpf.o")); // "a1b2…-7328"
 * ```
 */
export function objectDigest(bytes: Uint8Array): string {
  const words = bytes.length >>> 2;
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const u32 = new Uint32Array(aligned.buffer, aligned.byteOffset, words);
  let a = 0x811c9dc5, b = 0x01000193 ^ bytes.length;
  for (let i = 0; i < words; i++) {
    a = Math.imul(a ^ u32[i], 0x01000193);
    b = Math.imul(b ^ u32[i] ^ (a >>> 16), 0x5bd1e995);
  }
  for (let i = words << 2; i < bytes.length; i++) {
    a = Math.imul(a ^ bytes[i], 0x01000193);
    b = Math.imul(b ^ bytes[i] ^ (a >>> 16), 0x5bd1e995);
  }
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return `${hex(a)}${hex(b)}-${bytes.length}`;
}

function pathFor(bytes: Uint8Array, dir?: string): string | undefined {
  const build = kernelBuildId();
  if (!build) return undefined;
  return `${dir ?? cacheDir()}/core-btf/${build}/${objectDigest(bytes)}.btf`;
}

/**
 * The minimal CO-RE BTF made earlier for this object on this kernel, if any.
 *
 * @param bytes The object file's bytes.
 * @param dir The cache directory (default: the bpfsh cache).
 * @returns A path to pass as `btf_custom_path`, or undefined.
 * @example
 * ```ts
 * const custom = coreBtfFor(bytes);
 * ```
 */
export function coreBtfFor(bytes: Uint8Array, dir?: string): string | undefined {
  const path = pathFor(bytes, dir);
  // libbpf parses the file as the kernel's types: only an entry of a trusted cache will do
  // (the common miss costs one lstat).
  if (!path || cacheEntry(path) !== "trusted") return undefined;
  try {
    trustedCacheDir(dir ?? cacheDir());
  } catch {
    return undefined;
  }
  return path;
}

/**
 * Make the minimal CO-RE BTF of an object for the running kernel (once; later calls find
 * it). Failures are ignored: this only makes loads faster.
 *
 * @param objectPath The compiled object.
 * @param dir The cache directory (default: the bpfsh cache).
 * @param bytes The object's contents, when already read.
 * @returns The path made or found, or undefined.
 * @example
 * ```ts
 * await makeCoreBtf("build/scripts/execsnoop.bpf.o");
 * ```
 */
export async function makeCoreBtf(
  objectPath: string,
  dir?: string,
  bytes?: Uint8Array,
): Promise<string | undefined> {
  try {
    bytes ??= await Deno.readFile(objectPath);
    const found = coreBtfFor(bytes, dir);
    if (found) return found;
    trustedCacheDir(dir ?? cacheDir());
    const path = pathFor(bytes, dir);
    if (!path) return undefined;
    await Deno.mkdir(path.replace(/\/[^/]+$/, ""), { recursive: true, mode: 0o700 });
    const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
    const bpftool = await findTool("bpftool");
    const { code } = await runTool("bpftool", bpftool, [
      "gen",
      "min_core_btf",
      KERNEL_BTF,
      tmp,
      objectPath,
    ]);
    if (code !== 0) {
      await Deno.remove(tmp).catch(() => {});
      return undefined;
    }
    await Deno.chmod(tmp, PRIVATE.mode);
    await Deno.rename(tmp, path);
    return path;
  } catch {
    return undefined;
  }
}
