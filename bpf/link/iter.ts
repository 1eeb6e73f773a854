/**
 * BPF iterators (`iter/task`, `iter/bpf_map`, `iter/bpf_map_elem`, …): the link is a
 * template; each read makes a fresh iterator fd (BPF_ITER_CREATE), reads it to its end and
 * closes it, as `cat` on a pinned iterator does.
 *
 * @module
 */

import { BPF_ITER_ATTACH_OPTS, BPF_ITER_LINK_INFO, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { check, libbpf } from "../../ffi/libbpf.ts";
import { errno, libc } from "../../ffi/libc.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/** The most one read of an iterator returns (a runaway program cannot fill memory). */
export const ITER_READ_LIMIT = 256 * 1024 * 1024;
const CHUNK = 64 * 1024;

/**
 * Attach an iterator program; the link's read() runs it.
 *
 * @param ctx The loaded program (section `iter/KIND`).
 * @param mapFd For map iterators (`iter/bpf_map_elem`, `iter/bpf_sk_storage_map`, …): the map.
 * @returns The release, with read().
 * @example
 * ```ts
 * const text = new TextDecoder().decode(attachIter(ctx).read!());
 * ```
 */
export function attachIter(ctx: AttachContext, mapFd?: number): LinkRelease {
  let opts: Uint8Array | null = null;
  let info: Uint8Array | undefined;
  if (mapFd !== undefined) {
    info = BPF_ITER_LINK_INFO.alloc();
    BPF_ITER_LINK_INFO.set(info, "map_fd", mapFd);
    opts = BPF_ITER_ATTACH_OPTS.alloc();
    BPF_ITER_ATTACH_OPTS.set(opts, "link_info", info);
    BPF_ITER_ATTACH_OPTS.set(opts, "link_info_len", info.length);
  }
  const link = attachWithLibbpf(
    ctx,
    () => libbpf().bpf_program__attach_iter(ctx.ptr, opts),
    (code) =>
      code === ERRNO.EINVAL || code === ERRNO.EBADF
        ? mapFd === undefined
          ? "map iterators (iter/bpf_map_elem, …) need a map: attach(undefined, { map })"
          : "this iterator takes no map, or the map's type does not fit it"
        : undefined,
  );
  void info; // the kernel copied link_info during the call
  const linkFd = link.fd;
  return { ...link, read: () => readIterator(linkFd, ctx.op) };
}

/**
 * Run an iterator link once: create an iterator fd, read it to its end, close it.
 *
 * @param linkFd The iterator link's fd.
 * @param op The operation, for errors.
 * @returns All the iterator wrote.
 * @throws {BpfError} When the iterator cannot be created or read, or writes more than
 *   {@link ITER_READ_LIMIT} bytes.
 * @example
 * ```ts
 * readIterator(link.fd, "read iter");
 * ```
 */
export function readIterator(linkFd: number, op: string): Uint8Array {
  const fd = check(libbpf().bpf_iter_create(linkFd), { op: `${op}: create iterator` });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const n = Number(libc().read(fd, buf, BigInt(buf.length)));
      if (n < 0) {
        const code = errno();
        if (code === ERRNO.EINTR || code === ERRNO.EAGAIN) continue;
        throw new BpfError({ op: `${op}: read iterator`, errno: code });
      }
      if (n === 0) break;
      total += n;
      if (total > ITER_READ_LIMIT) {
        throw new BpfError({
          op: `${op}: read iterator`,
          message: `the iterator wrote more than ${ITER_READ_LIMIT} bytes`,
        });
      }
      chunks.push(buf.slice(0, n));
    }
  } finally {
    libc().close(fd);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
