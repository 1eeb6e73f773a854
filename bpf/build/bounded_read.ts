/**
 * Reading files a user names (sources, their includes, objects, session files) without
 * trusting them to end: only regular files are opened (a FIFO blocks the open, `/dev/zero`
 * never ends), and no more than a limit is read.
 *
 * @module
 */

import { nonRegularKind } from "../system/files.ts";
import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";

/** I/O error: any other reason a file could not be read. */
const EIO = 5;

/** Options of {@link readRegularFile}. */
export interface ReadOptions {
  /** The operation, for errors (e.g. `"compile"`). */
  op: string;
  /** What the file is, for errors (e.g. `"source"`); omit it when `op` names the file. */
  what?: string;
  /** The most bytes to read. */
  limit: number;
}

/** The error for a file that cannot be read, by its errno. */
function unreadable(path: string, opts: ReadOptions, e: unknown): BpfError {
  const errno = e instanceof Deno.errors.NotFound
    ? ERRNO.ENOENT
    : e instanceof Deno.errors.PermissionDenied
    ? ERRNO.EACCES
    : EIO;
  return new BpfError({
    op: opts.op,
    errno,
    message: opts.what ? `cannot read ${opts.what} '${path}'` : undefined,
    cause: e,
  });
}

/** How a message names the file: nothing when the operation already does. */
function subject(path: string, opts: ReadOptions): string {
  return opts.what ? `${opts.what} '${path}' ` : "";
}

/** Refuse what is not a regular file, or is larger than the limit. */
function checkInfo(path: string, st: Deno.FileInfo, opts: ReadOptions): void {
  const kind = nonRegularKind(st);
  if (kind) {
    throw new BpfError({
      op: opts.op,
      errno: st.isDirectory ? ERRNO.EISDIR : undefined,
      message: `${subject(path, opts)}is ${kind}, not a regular file`,
    });
  }
  if (st.size > opts.limit) tooLarge(path, opts);
}

function tooLarge(path: string, opts: ReadOptions): never {
  throw new BpfError({
    op: opts.op,
    message: `${subject(path, opts)}is larger than ${Math.round(opts.limit / 2 ** 20)} MiB`,
    hint: "is it the right file?",
  });
}

/** A file longer than it said when it was checked: room for more, up to the limit. */
function grown(buf: Uint8Array, path: string, opts: ReadOptions): Uint8Array<ArrayBuffer> {
  if (buf.length > opts.limit) tooLarge(path, opts);
  const out = new Uint8Array(Math.min(opts.limit + 1, buf.length * 2));
  out.set(buf);
  return out;
}

/**
 * Read a regular file of at most `limit` bytes. The file is checked before it is opened
 * (opening a FIFO would block) and again once open (it may have been swapped), and the read
 * stops at the limit whatever the file claims.
 *
 * @param path The file.
 * @param opts The operation and a name for errors, and the limit.
 * @returns The contents.
 * @throws {BpfError} ENOENT/EACCES/EIO when unreadable; when not a regular file or too large.
 * @example
 * ```ts
 * const text = new TextDecoder().decode(
 *   await readRegularFile("x.bpf.c", { op: "compile", what: "source", limit: 16 << 20 }),
 * );
 * ```
 */
export async function readRegularFile(path: string, opts: ReadOptions): Promise<Uint8Array> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    throw unreadable(path, opts, e);
  }
  checkInfo(path, st, opts);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw unreadable(path, opts, e);
  }
  try {
    checkInfo(path, await file.stat(), opts);
    let out = new Uint8Array(Math.min(st.size, opts.limit) + 1);
    let n = 0;
    for (;;) {
      if (n === out.length) out = grown(out, path, opts);
      const got = await file.read(out.subarray(n));
      if (got === null) break;
      n += got;
    }
    return out.subarray(0, n);
  } finally {
    file.close();
  }
}

/**
 * {@link readRegularFile}, synchronously.
 *
 * @param path The file.
 * @param opts The operation and a name for errors, and the limit.
 * @returns The contents.
 * @throws {BpfError} ENOENT/EACCES/EIO when unreadable; when not a regular file or too large.
 * @example
 * ```ts
 * readRegularFileSync("x.bpf.o", { op: "open", what: "object", limit: 256 << 20 });
 * ```
 */
export function readRegularFileSync(path: string, opts: ReadOptions): Uint8Array {
  // readRegularFile's steps with the sync calls, written out: one body cannot be both.
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(path);
  } catch (e) {
    throw unreadable(path, opts, e);
  }
  checkInfo(path, st, opts);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw unreadable(path, opts, e);
  }
  try {
    checkInfo(path, file.statSync(), opts);
    let out = new Uint8Array(Math.min(st.size, opts.limit) + 1);
    let n = 0;
    for (;;) {
      if (n === out.length) out = grown(out, path, opts);
      const got = file.readSync(out.subarray(n));
      if (got === null) break;
      n += got;
    }
    return out.subarray(0, n);
  } finally {
    file.close();
  }
}
