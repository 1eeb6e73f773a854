/**
 * perf_event_open(2), for perf_event programs and perf buffers.
 *
 * @module
 */

import { ERRNO, PERF_ATTR_FLAG, PERF_EVENT_ATTR, type PointerInput } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { errno, libc } from "../../ffi/libc.ts";

/** perf_event_attr.type values. */
export const PERF_TYPE_HARDWARE = 0;
/** Software events (cpu-clock, page-faults, bpf-output, …). */
export const PERF_TYPE_SOFTWARE = 1;
/** PERF_COUNT_SW_BPF_OUTPUT: the event behind a BPF perf buffer. */
export const PERF_COUNT_SW_BPF_OUTPUT = 10;
/** PERF_SAMPLE_RAW: samples carry the raw bytes a BPF program output. */
export const PERF_SAMPLE_RAW = 1 << 10;
/** ioctl: enable the event. */
export const PERF_EVENT_IOC_ENABLE = 0x2400n;
/** ioctl: disable the event. */
export const PERF_EVENT_IOC_DISABLE = 0x2401n;
/** ioctl: run a BPF program (its fd is the argument) on each event. */
export const PERF_EVENT_IOC_SET_BPF = 0x40042408n;
/** perf_event_attr.type of tracefs tracepoints (config: the event's id). */
export const PERF_TYPE_TRACEPOINT = 2;

const PERF_FLAG_FD_CLOEXEC = 8n;
const SYS_PERF_EVENT_OPEN = Deno.build.arch === "aarch64" ? 241n : 298n;

/** Named events a user may attach a perf_event program to: [type, config]. */
export const PERF_EVENTS: Record<string, [number, number]> = {
  "cpu-cycles": [PERF_TYPE_HARDWARE, 0],
  "cycles": [PERF_TYPE_HARDWARE, 0],
  "instructions": [PERF_TYPE_HARDWARE, 1],
  "cache-references": [PERF_TYPE_HARDWARE, 2],
  "cache-misses": [PERF_TYPE_HARDWARE, 3],
  "branch-instructions": [PERF_TYPE_HARDWARE, 4],
  "branch-misses": [PERF_TYPE_HARDWARE, 5],
  "cpu-clock": [PERF_TYPE_SOFTWARE, 0],
  "task-clock": [PERF_TYPE_SOFTWARE, 1],
  "page-faults": [PERF_TYPE_SOFTWARE, 2],
  "context-switches": [PERF_TYPE_SOFTWARE, 3],
  "cpu-migrations": [PERF_TYPE_SOFTWARE, 4],
  "minor-faults": [PERF_TYPE_SOFTWARE, 5],
  "major-faults": [PERF_TYPE_SOFTWARE, 6],
  "bpf-output": [PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT],
};

/** The fields of perf_event_attr that bpfsh sets. */
export interface PerfEventAttr {
  /** PERF_TYPE_*. */
  type: number;
  /** The event within the type. */
  config: number;
  /** Sample every N events (exclusive with frequency). */
  period?: number;
  /** Sample N times a second. */
  frequency?: number;
  /** PERF_SAMPLE_* bits. */
  sampleType?: number;
  /** Wake the reader after this many events (or bytes, with watermark). */
  wakeupEvents?: number;
  /** Count wakeupEvents in bytes instead of events. */
  watermark?: boolean;
  /** Open disabled (enable with ioctl). */
  disabled?: boolean;
  /** config1: for the kprobe and uprobe PMUs, the function or path (its bytes' address). */
  config1?: PointerInput;
  /** config2: for the kprobe and uprobe PMUs, the offset. */
  config2?: bigint;
}

/**
 * Open a perf event and return its fd.
 *
 * @param attr What to count or sample.
 * @param pid A process id, or -1 for every process (needs a cpu).
 * @param cpu A CPU number, or -1 for any CPU (needs a pid).
 * @returns The fd; the caller closes it.
 * @example
 * ```ts
 * const fd = perfEventOpen({ type: PERF_TYPE_SOFTWARE, config: 0, frequency: 99 }, -1, 0);
 * ```
 */
export function perfEventOpen(attr: PerfEventAttr, pid: number, cpu: number): number {
  const A = PERF_EVENT_ATTR;
  const buf = A.alloc();
  A.set(buf, "type", attr.type);
  A.set(buf, "size", A.size);
  A.set(buf, "config", attr.config);
  A.set(buf, "sample_period", attr.frequency ?? attr.period ?? 0);
  A.set(buf, "sample_type", attr.sampleType ?? 0);
  let flags = 0n;
  if (attr.disabled) flags |= PERF_ATTR_FLAG.DISABLED;
  if (attr.frequency) flags |= PERF_ATTR_FLAG.FREQ;
  if (attr.watermark) flags |= PERF_ATTR_FLAG.WATERMARK;
  A.set(buf, "flags", flags);
  A.set(buf, "wakeup_events", attr.wakeupEvents ?? 1);
  if (attr.config1 !== undefined) A.set(buf, "config1", attr.config1);
  if (attr.config2 !== undefined) A.set(buf, "config2", attr.config2);
  const fd = Number(
    libc().syscall5(SYS_PERF_EVENT_OPEN, buf, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC),
  );
  if (fd < 0) {
    const code = errno();
    throw new BpfError({
      op: "perf_event_open",
      errno: code,
      message: `event type ${attr.type} config ${attr.config} on cpu ${cpu}`,
      hint: code === ERRNO.ENOENT || code === ERRNO.EOPNOTSUPP
        ? "this machine has no such event (hardware counters are often missing in VMs): " +
          "try cpu-clock"
        : code === ERRNO.EACCES || code === ERRNO.EPERM
        ? "run as root, or lower /proc/sys/kernel/perf_event_paranoid"
        : undefined,
    });
  }
  return fd;
}
