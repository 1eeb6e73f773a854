/**
 * Socket filters (`socket` programs): on a packet socket bpfsh opens on an interface (as
 * bcc's attach_raw_socket does), or on a socket the caller owns (its fd). The filter sees
 * each packet the socket would receive and returns how many bytes to keep (0 drops it).
 *
 * @module
 */

import { ERRNO, SOCKADDR_LL, SOCKET } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { errno, libc } from "../../ffi/libc.ts";
import { ifindexOf } from "./iface.ts";
import type { AttachContext, LinkRelease } from "./link.ts";

/** Where {@link attachSocket} filters. */
export interface SocketTarget {
  /** An interface: bpfsh opens a packet socket bound to it, owned by the link. */
  iface?: string;
  /** A socket the caller owns: the filter is detached on close, the socket left open. */
  fd?: number;
}

/**
 * Attach a socket filter (SO_ATTACH_BPF).
 *
 * @param ctx The loaded program.
 * @param t An interface or a socket fd.
 * @returns The release; for an interface, its fd is the packet socket.
 * @example
 * ```ts
 * attachSocket(ctx, { iface: "lo" });
 * ```
 */
export function attachSocket(ctx: AttachContext, t: SocketTarget): LinkRelease {
  const c = libc();
  const progFd = new Int32Array([ctx.fd]);
  const attach = (fd: number) => {
    if (
      c.setsockopt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_ATTACH_BPF, new Uint8Array(progFd.buffer), 4) <
        0
    ) {
      const code = errno();
      throw new BpfError({
        op: ctx.op,
        errno: code,
        message: "SO_ATTACH_BPF failed",
        hint: code === ERRNO.ENOTSOCK || code === ERRNO.EBADF
          ? `fd ${fd} is not a socket`
          : undefined,
      });
    }
  };
  if (t.fd !== undefined) {
    attach(t.fd);
    const fd = t.fd;
    return {
      fd,
      destroy: () => {
        const none = new Uint8Array(4);
        c.setsockopt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_DETACH_BPF, none, 4);
      },
    };
  }
  const ifindex = ifindexOf(t.iface ?? "", ctx.op);
  const fd = c.socket(
    SOCKET.AF_PACKET,
    SOCKET.SOCK_RAW | SOCKET.SOCK_NONBLOCK | SOCKET.SOCK_CLOEXEC,
    SOCKET.ETH_P_ALL_BE,
  );
  if (fd < 0) {
    throw new BpfError({ op: ctx.op, errno: errno(), message: "cannot open a packet socket" });
  }
  try {
    const addr = SOCKADDR_LL.alloc();
    SOCKADDR_LL.set(addr, "sll_family", SOCKET.AF_PACKET);
    SOCKADDR_LL.set(addr, "sll_protocol", SOCKET.ETH_P_ALL_BE);
    SOCKADDR_LL.set(addr, "sll_ifindex", ifindex);
    if (c.bind(fd, addr, addr.length) < 0) {
      throw new BpfError({ op: ctx.op, errno: errno(), message: `cannot bind to '${t.iface}'` });
    }
    attach(fd);
  } catch (e) {
    c.close(fd);
    throw e;
  }
  return { fd, destroy: () => void c.close(fd) };
}
