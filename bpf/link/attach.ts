/**
 * The attach dispatcher: one plan (bpf/link/target.ts) to the function of its kind, each in
 * its own file of bpf/link/. tracefs is mounted first for the kinds that go through it, and
 * failures caused by what the kernel lacks are explained with an alternative.
 *
 * @module
 */

import { libbpf } from "../../ffi/libbpf.ts";
import { BpfError } from "../../ffi/errors.ts";
import { kernelLacks } from "../system/kernel_limits.ts";
import { attachNeedsTracefs, ensureTracefs } from "../system/mounts.ts";
import { attachCgroup } from "./cgroup.ts";
import { attachIter } from "./iter.ts";
import { attachKprobe, attachKprobeMulti } from "./kprobe.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";
import { attachLsm } from "./lsm.ts";
import { attachNetns } from "./netns.ts";
import { attachPerfEvent } from "./perf_event.ts";
import { attachRawTracepoint } from "./raw_tp.ts";
import { attachSocket } from "./socket.ts";
import type { AttachPlan } from "./target.ts";
import { attachTc } from "./tc.ts";
import { attachTracepoint } from "./tracepoint.ts";
import { attachTracing } from "./tracing.ts";
import { attachUprobe } from "./uprobe.ts";
import { attachUsdt } from "./usdt.ts";
import { attachXdp } from "./xdp.ts";

/**
 * Attach a loaded program as a plan says.
 *
 * @param ctx The loaded program and the operation's name.
 * @param plan Where (from planAttach()).
 * @returns The release of the new attachment.
 * @throws {BpfError} Naming the operation, with a hint; kernels lacking the kind say so.
 * @example
 * ```ts
 * attachPlan(ctx, planAttach(ctx.type, ctx.section, "syscalls/sys_enter_close"));
 * ```
 */
export function attachPlan(ctx: AttachContext, plan: AttachPlan): LinkRelease {
  // A fresh machine has no tracefs mounted, and libbpf would fail with a bare ENOENT.
  if (attachNeedsTracefs(plan.kind)) ensureTracefs();
  try {
    return dispatch(ctx, plan);
  } catch (e) {
    const what = plan.kind === "kprobe"
      ? plan.func
      : plan.kind === "kprobe_multi"
      ? plan.pattern
      : ctx.section;
    throw kernelLacks(e, plan.kind, ctx.section, what) ?? e;
  }
}

function dispatch(ctx: AttachContext, plan: AttachPlan): LinkRelease {
  switch (plan.kind) {
    case "tracepoint":
      return attachTracepoint(ctx, plan.category, plan.name, plan.cookie);
    case "raw_tp":
      return attachRawTracepoint(ctx, plan.name);
    case "tracing":
      return attachTracing(ctx);
    case "lsm":
      return attachLsm(ctx);
    case "kprobe":
      return attachKprobe(ctx, plan);
    case "kprobe_multi":
      return attachKprobeMulti(ctx, plan);
    case "uprobe":
      return attachUprobe(ctx, plan);
    case "usdt":
      return attachUsdt(ctx, plan);
    case "perf_event":
      return attachPerfEvent(ctx, plan);
    case "xdp":
      return attachXdp(ctx, plan.iface);
    case "tc":
      return attachTc(ctx, plan.iface, plan.direction);
    case "iter":
      return attachIter(ctx, plan.mapFd);
    case "cgroup":
      return attachCgroup(ctx, plan.path);
    case "netns":
      return attachNetns(ctx, plan.path);
    case "socket":
      return attachSocket(ctx, plan);
    case "libbpf":
      if (!libbpf().bpf_program__autoattach(ctx.ptr)) {
        throw new BpfError({
          op: ctx.op,
          message: `libbpf cannot attach section '${ctx.section}' by itself`,
        });
      }
      return attachWithLibbpf(ctx, () => libbpf().bpf_program__attach(ctx.ptr));
  }
}
