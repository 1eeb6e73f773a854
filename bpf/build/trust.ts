/**
 * Whether the compile cache can be trusted: bpfsh loads what it finds there into the
 * kernel, as root. A cache directory is trusted only when it belongs to the current user
 * and no one else can change it or any directory above it (else another user could swap
 * an object, plant a `vmlinux.h`, or rename the whole directory away); an entry only when
 * it is a regular file of the current user that no one else can write.
 *
 * `sudo -E` keeps the caller's `HOME`, so root's default cache would be the caller's:
 * that is refused with a hint, never used (and never written: root would leave files the
 * caller cannot remove).
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { dirname } from "./cache.ts";

/** Group- and other-write bits. */
const WRITE_BY_OTHERS = 0o022;
/** The sticky bit: in a sticky directory only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

const trustedDirs = new Map<string, string>();

/** The uid bpfsh runs as (files it creates belong to it). */
function uid(): number {
  return Deno.uid() ?? 0;
}

/** What to tell a user whose cache was refused. */
function hint(): string {
  return uid() === 0
    ? "set BPFSH_CACHE to a directory only root can write (e.g. /root/.cache/bpfsh); " +
      "sudo -E keeps the caller's HOME"
    : "set BPFSH_CACHE to a directory only you can write";
}

function refuse(path: string, why: string): never {
  throw new BpfError({
    op: "compile cache",
    message: `'${path}' ${why}, so bpfsh does not trust it`,
    hint: hint(),
  });
}

/**
 * Make sure a cache directory exists and only the current user can change it, creating
 * missing parts with mode 0700. Checked once per process and path.
 *
 * @param dir The cache directory (absolute).
 * @returns Its real path.
 * @throws {BpfError} op `"compile cache"` naming the directory (or the ancestor) at fault.
 * @example
 * ```ts
 * trustedCacheDir("/root/.cache/bpfsh"); // "/root/.cache/bpfsh"
 * ```
 */
export function trustedCacheDir(dir: string): string {
  const known = trustedDirs.get(dir);
  if (known) return known;
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) {
      throw new BpfError({
        op: "compile cache",
        message: `cannot create '${dir}'`,
        errno: e instanceof Deno.errors.PermissionDenied ? 13 : 5,
        hint: hint(),
        cause: e,
      });
    }
  }
  const real = Deno.realPathSync(dir);
  const st = Deno.statSync(real);
  if (!st.isDirectory) refuse(real, "is not a directory");
  if (st.uid !== uid()) refuse(real, `belongs to uid ${st.uid}, not to you (uid ${uid()})`);
  if ((st.mode ?? 0) & WRITE_BY_OTHERS) {
    refuse(real, `can be written by others (mode ${((st.mode ?? 0) & 0o7777).toString(8)})`);
  }
  // Whoever can write a directory above can rename this one and put their own in its place.
  for (let p = dirname(real);; p = dirname(p)) {
    const a = Deno.statSync(p);
    if (a.uid !== uid() && a.uid !== 0) {
      refuse(real, `lies in '${p}', which belongs to uid ${a.uid}`);
    }
    const mode = a.mode ?? 0;
    if (mode & WRITE_BY_OTHERS && !(mode & STICKY)) {
      refuse(real, `lies in '${p}', which others can write`);
    }
    if (p === "/") break;
  }
  trustedDirs.set(dir, real);
  return real;
}

/**
 * Whether a cache entry exists and can be trusted: a regular file (not a link) of the
 * current user that no one else can write.
 *
 * @param path The entry.
 * @returns `"missing"`, `"trusted"`, or why it is not trusted.
 * @example
 * ```ts
 * if (cacheEntry(path) === "trusted") use(path);
 * ```
 */
export function cacheEntry(path: string): "missing" | "trusted" | string {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return "missing";
  }
  if (!st.isFile) return "is not a regular file";
  if (st.uid !== uid()) return `belongs to uid ${st.uid}, not to you (uid ${uid()})`;
  if ((st.mode ?? 0) & WRITE_BY_OTHERS) return "can be written by others";
  return "trusted";
}

/**
 * Refuse an entry that exists but cannot be trusted.
 *
 * @param path The entry.
 * @returns True when it exists (and is trusted), false when it is missing.
 * @throws {BpfError} op `"compile cache"` naming the entry.
 * @example
 * ```ts
 * if (trustedEntry(objectPath)) return Deno.readFile(objectPath);
 * ```
 */
export function trustedEntry(path: string): boolean {
  const state = cacheEntry(path);
  if (state === "missing") return false;
  if (state !== "trusted") {
    throw new BpfError({
      op: "compile cache",
      message: `'${path}' ${state}, so bpfsh does not trust it`,
      hint: `remove it (rm '${path}'); bpfsh makes it again`,
    });
  }
  return true;
}
