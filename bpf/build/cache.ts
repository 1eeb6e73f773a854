/**
 * The on-disk cache of bpfsh: where it lives, content hashes for its keys, and writes that
 * other processes never see half done.
 *
 * @module
 */

/**
 * The cache directory: `$BPFSH_CACHE`, else `$XDG_CACHE_HOME/bpfsh`, else `~/.cache/bpfsh`.
 *
 * The directory is not created here; writers create what they need.
 *
 * @returns An absolute path.
 * @example
 * ```ts
 * cacheDir(); // "/root/.cache/bpfsh"
 * ```
 */
export function cacheDir(): string {
  const explicit = Deno.env.get("BPFSH_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/bpfsh`;
  const home = Deno.env.get("HOME") || "/root"; // an empty HOME is no home
  return `${home}/.cache/bpfsh`;
}

/**
 * The sha256 of some strings and byte arrays, each framed by its length so that
 * `["ab", "c"]` and `["a", "bc"]` hash differently.
 *
 * @param parts The pieces to hash, in order.
 * @returns The digest as 64 lowercase hex digits.
 * @example
 * ```ts
 * await sha256Hex(["int x;", "-O2"]); // "3f1c…"
 * ```
 */
export async function sha256Hex(parts: (string | Uint8Array)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  const heads = chunks.map((c) => enc.encode(`${c.length}:`));
  const total = chunks.reduce((n, c, i) => n + c.length + heads[i].length, 0);
  const all = new Uint8Array(total);
  let off = 0;
  chunks.forEach((c, i) => {
    all.set(heads[i], off);
    all.set(c, off + heads[i].length);
    off += heads[i].length + c.length;
  });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A name for a temporary file beside `path`, unique to this process and call.
 *
 * @param path The final path.
 * @returns `path` plus a `.tmp-<pid>-<random>` suffix, in the same directory.
 * @example
 * ```ts
 * tempBeside("/c/x.o"); // "/c/x.o.tmp-4242-9f3a1c"
 * ```
 */
export function tempBeside(path: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  return `${path}.tmp-${Deno.pid}-${rand}`;
}

/**
 * File options of cache entries: only the owner can read or write them (the cache trusts
 * nothing anyone else could have written).
 *
 * @example
 * ```ts
 * await writeFileAtomic(`${dir}/x.o.sha256`, digest, PRIVATE);
 * ```
 */
export const PRIVATE = { mode: 0o600 } as const;

/**
 * The largest object file bpfsh reads (unstripped objects with DWARF are tens of MiB).
 *
 * @example
 * ```ts
 * readRegularFile(path, { op: "open", what: "object", limit: OBJECT_LIMIT });
 * ```
 */
export const OBJECT_LIMIT = 256 << 20;

/**
 * Write a file so that readers see either nothing or the whole of it: write a temporary
 * file in the same directory, then rename it over the final name.
 *
 * @param path The final path; its directory is created when missing (mode 0700 when the
 *   file's `mode` is given: cache entries are private).
 * @param data The contents.
 * @param opts `mode` of the new file (default: the umask's).
 * @returns Nothing; resolves once the file is in place.
 * @example
 * ```ts
 * await writeFileAtomic(`${cacheDir()}/vmlinux/abc/vmlinux.h`, header, PRIVATE);
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: { mode?: number } = {},
): Promise<void> {
  // A private file goes in a private directory; anything else gets the umask's defaults.
  await Deno.mkdir(dirname(path), {
    recursive: true,
    mode: opts.mode === undefined ? undefined : 0o700,
  });
  const tmp = tempBeside(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data, { mode: opts.mode });
    else await Deno.writeFile(tmp, data, { mode: opts.mode });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Whether a path exists (any kind of file).
 *
 * @param path The path to check.
 * @returns True when `stat` succeeds.
 * @example
 * ```ts
 * if (await exists("/sys/kernel/btf/vmlinux")) console.log("BTF");
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory part of a path.
 *
 * @param path A file path.
 * @returns Everything before the last `/` (`"."` when there is none, `"/"` for the root).
 * @example
 * ```ts
 * dirname("/a/b/c.bpf.c"); // "/a/b"
 * ```
 */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

/**
 * Make a path absolute against the current directory.
 *
 * @param path A relative or absolute path.
 * @returns The absolute path (not normalised beyond that).
 * @example
 * ```ts
 * absolute("scripts/x.bpf.c"); // "/work/main/scripts/x.bpf.c"
 * ```
 */
export function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path.replace(/^\.\//, "")}`;
}
