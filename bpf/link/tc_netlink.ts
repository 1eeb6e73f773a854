/**
 * tc filters through netlink: a cls_bpf filter under a clsact qdisc, for kernels without
 * tcx links. The kernel keeps such a filter (and the qdisc) after the process that made it
 * is gone, so both the attach and the reaper (bpf/link/reaper_main.ts) undo them, with the
 * same steps: a filter is named by its hook, handle and priority, chosen before it exists
 * so the reaper can be told first, and removed only while it still runs the program it was
 * made with; a qdisc only while no filter is left under it.
 *
 * @module
 */

import {
  BPF_TC,
  BPF_TC_HOOK,
  BPF_TC_OPTS,
  ERRNO,
  FD_FLAGS,
  NETLINK,
  NLMSGHDR,
  SOCKET,
  TC_PARENT,
  TCMSG,
} from "../../ffi/abi.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { errno, libc } from "../../ffi/libc.ts";

/** One direction of an interface. */
export type TcDirection = "ingress" | "egress";

/** A netlink tc filter, as bpfsh made it. */
export interface TcFilterId {
  /** The interface. */
  readonly ifindex: number;
  /** Which hook. */
  readonly direction: TcDirection;
  /** The filter's handle. */
  readonly handle: number;
  /** Its priority. */
  readonly priority: number;
  /** The kernel id of the program it runs. */
  readonly progId: number;
}

/** The handle bpfsh gives its filters, and the first priority it tries (tc's default). */
export const TC_HANDLE = 1;
const FIRST_PRIORITY = 0xc000;
/** How many priorities an attach tries before giving up. */
export const TC_PRIORITY_TRIES = 16;

/**
 * The priorities an attach tries, in order: tc's default first, then lower ones, so a new
 * filter runs before those already there, as the kernel's own choice would put it.
 *
 * @returns The priorities.
 * @example
 * ```ts
 * tcPriorities()[0]; // 49152
 * ```
 */
export function tcPriorities(): number[] {
  return Array.from({ length: TC_PRIORITY_TRIES }, (_, i) => FIRST_PRIORITY - i);
}

function hookOf(ifindex: number, point: number): Uint8Array<ArrayBuffer> {
  const hook = BPF_TC_HOOK.alloc();
  BPF_TC_HOOK.set(hook, "ifindex", ifindex);
  BPF_TC_HOOK.set(hook, "attach_point", point);
  return hook;
}

function pointOf(direction: TcDirection): number {
  return direction === "ingress" ? BPF_TC.INGRESS : BPF_TC.EGRESS;
}

/**
 * Create the clsact qdisc of an interface.
 *
 * @param ifindex The interface.
 * @returns 0 when this call created it, -EEXIST when it was there, another -errno on failure.
 * @example
 * ```ts
 * createClsact(1) === 0; // lo had none
 * ```
 */
export function createClsact(ifindex: number): number {
  return libbpf().bpf_tc_hook_create(hookOf(ifindex, BPF_TC.INGRESS));
}

/**
 * Add a direct-action cls_bpf filter at a given handle and priority (never replacing one).
 *
 * @param f Where, and the program's kernel id (unused here: the fd says which program).
 * @param progFd The program.
 * @returns 0, or -EEXIST when that handle and priority are taken, or another -errno.
 * @example
 * ```ts
 * addTcFilter({ ifindex: 1, direction: "ingress", handle: 1, priority: 49152, progId }, fd);
 * ```
 */
export function addTcFilter(f: TcFilterId, progFd: number): number {
  const opts = BPF_TC_OPTS.alloc();
  BPF_TC_OPTS.set(opts, "prog_fd", progFd);
  BPF_TC_OPTS.set(opts, "handle", f.handle);
  BPF_TC_OPTS.set(opts, "priority", f.priority);
  return libbpf().bpf_tc_attach(hookOf(f.ifindex, pointOf(f.direction)), opts);
}

/**
 * The kernel id of the program a filter runs.
 *
 * @param f The filter's hook, handle and priority.
 * @returns The program id, or undefined when no such filter exists.
 * @example
 * ```ts
 * tcFilterProgram(f) === f.progId; // still ours
 * ```
 */
export function tcFilterProgram(f: Omit<TcFilterId, "progId">): number | undefined {
  const opts = BPF_TC_OPTS.alloc();
  BPF_TC_OPTS.set(opts, "handle", f.handle);
  BPF_TC_OPTS.set(opts, "priority", f.priority);
  const ret = libbpf().bpf_tc_query(hookOf(f.ifindex, pointOf(f.direction)), opts);
  return ret === 0 ? Number(BPF_TC_OPTS.get(opts, "prog_id")) : undefined;
}

/**
 * Remove a filter bpfsh made, if it is still there and still runs that program (another
 * process may have replaced it since).
 *
 * @param f The filter.
 * @returns True when it was removed.
 * @example
 * ```ts
 * removeTcFilter(f);
 * ```
 */
export function removeTcFilter(f: TcFilterId): boolean {
  if (tcFilterProgram(f) !== f.progId) return false;
  const opts = BPF_TC_OPTS.alloc();
  BPF_TC_OPTS.set(opts, "handle", f.handle);
  BPF_TC_OPTS.set(opts, "priority", f.priority);
  return libbpf().bpf_tc_detach(hookOf(f.ifindex, pointOf(f.direction)), opts) === 0;
}

/**
 * Remove the clsact qdisc of an interface unless a filter (anyone's) is still under it:
 * removing it would take the others' filters with it.
 *
 * @param ifindex The interface.
 * @returns True when it was removed.
 * @example
 * ```ts
 * removeClsactIfUnused(1);
 * ```
 */
export function removeClsactIfUnused(ifindex: number): boolean {
  if (hookHasFilters(ifindex, "ingress") || hookHasFilters(ifindex, "egress")) return false;
  return libbpf().bpf_tc_hook_destroy(hookOf(ifindex, BPF_TC.INGRESS | BPF_TC.EGRESS)) === 0;
}

/**
 * Whether any filter is attached on one hook (an RTM_GETTFILTER dump over rtnetlink).
 *
 * @param ifindex The interface.
 * @param direction Which hook.
 * @returns True when the kernel lists one, or the socket fails (then the qdisc stays).
 * @example
 * ```ts
 * hookHasFilters(1, "ingress"); // false on a bare lo
 * ```
 */
export function hookHasFilters(ifindex: number, direction: TcDirection): boolean {
  const c = libc();
  const fd = c.socket(NETLINK.AF_NETLINK, SOCKET.SOCK_RAW | FD_FLAGS.O_CLOEXEC, 0);
  if (fd < 0) return true;
  try {
    const req = new Uint8Array(NLMSGHDR.size + TCMSG.size);
    NLMSGHDR.set(req, "len", req.length);
    NLMSGHDR.set(req, "type", NETLINK.RTM_GETTFILTER);
    NLMSGHDR.set(req, "flags", NETLINK.NLM_F_REQUEST | NETLINK.NLM_F_DUMP);
    NLMSGHDR.set(req, "seq", 1);
    const tcm = req.subarray(NLMSGHDR.size);
    TCMSG.set(tcm, "ifindex", ifindex);
    TCMSG.set(tcm, "parent", direction === "ingress" ? TC_PARENT.INGRESS : TC_PARENT.EGRESS);
    if (Number(c.write(fd, req, BigInt(req.length))) !== req.length) return true;
    const buf = new Uint8Array(32768);
    for (;;) {
      const n = Number(c.read(fd, buf, BigInt(buf.length)));
      if (n < 0 && errno() === ERRNO.EINTR) continue;
      if (n <= 0) return true;
      for (let at = 0; at + NLMSGHDR.size <= n;) {
        const msg = buf.subarray(at);
        const len = Number(NLMSGHDR.get(msg, "len"));
        const type = NLMSGHDR.get(msg, "type");
        if (type === NETLINK.RTM_NEWTFILTER) return true;
        if (type === NETLINK.NLMSG_DONE) return false;
        // An error (no such device, no clsact): nothing can be attached there.
        if (type === NETLINK.NLMSG_ERROR) return false;
        if (len < NLMSGHDR.size) return true;
        at += (len + 3) & ~3;
      }
    }
  } finally {
    c.close(fd);
  }
}
