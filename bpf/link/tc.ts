/**
 * tc (sched_cls) programs on an interface's ingress or egress (`IFACE:ingress`), as a
 * cls_bpf filter under a clsact qdisc (netlink; libbpf 1.1 has no tcx links). Netlink
 * attachments outlive the process, so the release removes the filter, and the qdisc when
 * this attach created it; the owning object runs it on close, exit and signals.
 *
 * @module
 */

import { BPF_TC, BPF_TC_HOOK, BPF_TC_OPTS, ERRNO } from "../../ffi/abi.ts";
import { check, libbpf } from "../../ffi/libbpf.ts";
import { ifindexOf } from "./iface.ts";
import type { AttachContext, LinkRelease } from "./link.ts";

/**
 * Attach a tc program as a filter on one direction of an interface.
 *
 * @param ctx The loaded program.
 * @param iface The interface name or index.
 * @param direction `"ingress"` or `"egress"`.
 * @returns The release: it removes the filter, then the qdisc if this attach made it.
 * @example
 * ```ts
 * attachTc(ctx, "lo", "ingress");
 * ```
 */
export function attachTc(
  ctx: AttachContext,
  iface: string,
  direction: "ingress" | "egress",
): LinkRelease {
  const sym = libbpf();
  const hook = BPF_TC_HOOK.alloc();
  BPF_TC_HOOK.set(hook, "ifindex", ifindexOf(iface, ctx.op));
  BPF_TC_HOOK.set(hook, "attach_point", direction === "ingress" ? BPF_TC.INGRESS : BPF_TC.EGRESS);
  const created = sym.bpf_tc_hook_create(hook);
  if (created < 0 && created !== -ERRNO.EEXIST) {
    check(created, {
      op: `${ctx.op}: create clsact qdisc`,
      hint: created === -ERRNO.EOPNOTSUPP || created === -ERRNO.ENOENT
        ? "the kernel lacks the clsact qdisc (CONFIG_NET_SCH_INGRESS; modprobe sch_ingress)"
        : undefined,
    });
  }
  const destroyQdisc = () => {
    // Only remove the qdisc if this attach created it: others may use it.
    if (created !== 0) return;
    // Both attach points at once remove the clsact qdisc itself.
    BPF_TC_HOOK.set(hook, "attach_point", BPF_TC.INGRESS | BPF_TC.EGRESS);
    sym.bpf_tc_hook_destroy(hook);
  };
  const opts = BPF_TC_OPTS.alloc();
  BPF_TC_OPTS.set(opts, "prog_fd", ctx.fd);
  try {
    check(sym.bpf_tc_attach(hook, opts), { op: ctx.op });
  } catch (e) {
    destroyQdisc();
    throw e;
  }
  const handle = BPF_TC_OPTS.get(opts, "handle");
  const priority = BPF_TC_OPTS.get(opts, "priority");
  return {
    fd: -1,
    destroy: () => {
      const d = BPF_TC_OPTS.alloc();
      BPF_TC_OPTS.set(d, "handle", handle);
      BPF_TC_OPTS.set(d, "priority", priority);
      sym.bpf_tc_detach(hook, d);
      destroyQdisc();
    },
  };
}
