/**
 * perf_event programs (`EVENT[:RATE]`, e.g. `cpu-clock:99hz`): one perf event per online
 * CPU, each with the program attached; closing the link closes them all.
 *
 * @module
 */

import { BPF_PERF_EVENT_OPTS } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { libc, onlineCpus } from "../../ffi/libc.ts";
import { PERF_EVENT_IOC_ENABLE, PERF_EVENTS, perfEventOpen } from "../system/perf_event.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";

/** What {@link attachPerfEvent} samples. */
export interface PerfEventTarget {
  /** A named event, e.g. `"cpu-clock"` or `"page-faults"`. */
  event: string;
  /** Samples per second (exclusive with period). */
  frequency?: number;
  /** One sample every N events. */
  period?: number;
  /** Only this CPU (default: every online CPU). */
  cpu?: number;
  /** The value `bpf_get_attach_cookie()` returns in the program. */
  cookie?: bigint;
}

/**
 * Attach a perf_event program on every online CPU.
 *
 * @param ctx The loaded program.
 * @param t The event and its rate.
 * @returns The link's release (all CPUs' links).
 * @throws {BpfError} For an unknown event (listing the known ones) or one this machine lacks.
 * @example
 * ```ts
 * attachPerfEvent(ctx, { event: "cpu-clock", frequency: 99 });
 * ```
 */
export function attachPerfEvent(ctx: AttachContext, t: PerfEventTarget): LinkRelease {
  const ev = Object.hasOwn(PERF_EVENTS, t.event) ? PERF_EVENTS[t.event] : undefined;
  if (!ev) {
    throw new BpfError({
      op: ctx.op,
      message: `unknown perf event '${t.event}'`,
      hint: `one of: ${Object.keys(PERF_EVENTS).join(", ")}`,
    });
  }
  const parts: LinkRelease[] = [];
  try {
    const cpus = t.cpu === undefined ? Array.from({ length: onlineCpus() }, (_, i) => i) : [t.cpu];
    const opts = BPF_PERF_EVENT_OPTS.alloc();
    if (t.cookie !== undefined) BPF_PERF_EVENT_OPTS.set(opts, "bpf_cookie", t.cookie);
    for (const cpu of cpus) {
      const fd = perfEventOpen(
        { type: ev[0], config: ev[1], frequency: t.frequency, period: t.period },
        -1,
        cpu,
      );
      let link: LinkRelease;
      try {
        link = attachWithLibbpf(
          ctx,
          () =>
            t.cookie === undefined
              ? libbpf().bpf_program__attach_perf_event(ctx.ptr, fd)
              : libbpf().bpf_program__attach_perf_event_opts(ctx.ptr, fd, opts),
        );
      } catch (e) {
        libc().close(fd);
        throw e;
      }
      // The link owns the event's fd from here: destroying it closes the fd.
      parts.push(link);
      libc().ioctl(fd, PERF_EVENT_IOC_ENABLE, 0n);
    }
  } catch (e) {
    for (const part of parts) part.destroy();
    throw e;
  }
  return { fd: parts[0]?.fd ?? -1, destroy: () => parts.forEach((x) => x.destroy()) };
}
