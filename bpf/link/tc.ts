/**
 * tc (sched_cls) programs on an interface's ingress or egress (`IFACE:ingress`). Where the
 * kernel has tcx links (6.6+), a tcx link (bpf/link/tcx.ts): the fd owns the attachment and
 * the kernel detaches it when the process ends, however it ends. Elsewhere (or with
 * `BPFSH_TC=netlink`), a cls_bpf filter under a clsact qdisc over netlink
 * (bpf/link/tc_netlink.ts), which the kernel keeps after the process: the release removes
 * it, and the qdisc when this process created it and no filter is left under it, and the
 * reaper (bpf/link/reaper.ts) does the same if the process dies first.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { check, errorFor } from "../../ffi/libbpf.ts";
import { kernelId } from "../system/files.ts";
import { ifindexOf } from "./iface.ts";
import type { AttachContext, LinkRelease } from "./link.ts";
import { reaperDone, reaperTake } from "./reaper.ts";
import {
  addTcFilter,
  createClsact,
  removeClsactIfUnused,
  removeTcFilter,
  TC_HANDLE,
  type TcDirection,
  type TcFilterId,
  tcPriorities,
} from "./tc_netlink.ts";
import { attachTcx, tcMechanism } from "./tcx.ts";

/**
 * Attach a tc program on one direction of an interface.
 *
 * @param ctx The loaded program.
 * @param iface The interface name or index.
 * @param direction `"ingress"` or `"egress"`.
 * @returns The release: it closes the tcx link, or removes the filter (and the qdisc).
 * @example
 * ```ts
 * attachTc(ctx, "lo", "ingress");
 * ```
 */
export function attachTc(ctx: AttachContext, iface: string, direction: TcDirection): LinkRelease {
  const ifindex = ifindexOf(iface, ctx.op);
  return tcMechanism() === "tcx"
    ? attachTcx(ctx, ifindex, direction)
    : attachTcFilter(ctx, iface, ifindex, direction);
}

/** This process's hold on an interface's clsact qdisc, shared by its filters there. */
interface ClsactHold {
  /** Whether this process created the qdisc (then the last filter's release removes it). */
  created: boolean;
  /** The filters of this process under it. */
  users: number;
  /** The reaper's task for the qdisc, while this process owns it. */
  task?: number;
}

const clsact = new Map<number, ClsactHold>();

function holdClsact(ifindex: number, op: string): ClsactHold {
  const hold = clsact.get(ifindex) ?? { created: false, users: 0 };
  // Asked every time: someone may have removed the qdisc since this process's last attach.
  // The reaper hears of it before it is created, so a kill right after the create leaves
  // nothing it was not told of.
  const task = hold.task ?? reaperTake({ kind: "clsact", ifindex });
  const ret = createClsact(ifindex);
  if (ret === 0) {
    hold.created = true;
    hold.task = task;
  } else if (hold.task === undefined) {
    reaperDone(task);
  }
  if (ret < 0 && ret !== -ERRNO.EEXIST) {
    check(ret, {
      op: `${op}: create clsact qdisc`,
      hint: ret === -ERRNO.EOPNOTSUPP || ret === -ERRNO.ENOENT
        ? "the kernel lacks the clsact qdisc (CONFIG_NET_SCH_INGRESS; modprobe sch_ingress)"
        : undefined,
    });
  }
  hold.users++;
  clsact.set(ifindex, hold);
  return hold;
}

function releaseClsact(ifindex: number): void {
  const hold = clsact.get(ifindex);
  if (!hold || --hold.users > 0) return;
  clsact.delete(ifindex);
  // Only a qdisc this process created, and only when nobody's filter is left under it.
  if (hold.created) removeClsactIfUnused(ifindex);
  if (hold.task !== undefined) reaperDone(hold.task);
}

function attachTcFilter(
  ctx: AttachContext,
  iface: string,
  ifindex: number,
  direction: TcDirection,
): LinkRelease {
  const progId = kernelId(ctx.fd, "prog_id") ?? 0;
  holdClsact(ifindex, ctx.op);
  let first: number | undefined;
  // bpfsh picks the handle and priority itself, so the reaper can be told of the filter
  // before it exists; a taken priority (EEXIST), or one another protocol's filters use
  // (EINVAL), moves on to the next.
  for (const priority of tcPriorities()) {
    const filter: TcFilterId = { ifindex, direction, handle: TC_HANDLE, priority, progId };
    const task = reaperTake({ kind: "tc-filter", filter });
    const ret = addTcFilter(filter, ctx.fd);
    if (ret === 0) return filterRelease(filter, task);
    reaperDone(task);
    first ??= ret;
    if (ret !== -ERRNO.EEXIST && ret !== -ERRNO.EINVAL) break;
  }
  releaseClsact(ifindex);
  const code = -(first ?? -ERRNO.EEXIST);
  throw errorFor(code, {
    op: ctx.op,
    hint: code === ERRNO.EEXIST
      ? `every priority bpfsh tries is taken (tc filter show dev ${iface} ${direction})`
      : undefined,
  });
}

function filterRelease(filter: TcFilterId, task: number): LinkRelease {
  return {
    fd: -1,
    via: `tc filter (netlink) pref ${filter.priority} handle 0x${filter.handle.toString(16)}`,
    destroy: () => {
      removeTcFilter(filter);
      reaperDone(task);
      releaseClsact(filter.ifindex);
    },
  };
}
