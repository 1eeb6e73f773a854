/**
 * Legacy tracefs probe events (`kprobe_events`, `uprobe_events`). libbpf falls back to
 * them on kernels without the kprobe/uprobe perf PMU, naming each event
 * `libbpf_<pid>_...` and removing it when the link is destroyed. A process killed with
 * SIGKILL cannot remove its own: its reaper does ({@link removeProbeEventsOf}, from
 * bpf/link/reaper_main.ts), and {@link sweepStaleProbeEvents} removes those of processes
 * that had none (killed together with it, or older bpfsh), before bpfsh adds any.
 *
 * @module
 */

import { pathExists, readTextIfAny } from "../system/files.ts";
import { tracefsPath } from "../system/mounts.ts";

/** Which legacy event file. */
export type ProbeEventFile = "kprobe_events" | "uprobe_events";

/** One legacy probe event, as tracefs lists it. */
export interface ProbeEvent {
  /** `p` (probe) or `r` (return probe). */
  readonly type: string;
  /** Its group, e.g. `"kprobes"`. */
  readonly group: string;
  /** Its name, e.g. `"libbpf_1234_do_unlinkat_0x0_0"`. */
  readonly name: string;
  /** Where it probes, e.g. `"do_unlinkat"` or `"/bin/bash:0x000ab123"`. */
  readonly where: string;
}

/**
 * The legacy probe events tracefs lists now.
 *
 * @param file `"kprobe_events"` or `"uprobe_events"`.
 * @returns The events (empty when the file is absent or tracefs cannot be mounted).
 * @example
 * ```ts
 * probeEvents("kprobe_events").filter((e) => e.name.startsWith("libbpf_"));
 * ```
 */
export function probeEvents(file: ProbeEventFile): ProbeEvent[] {
  const text = readTextIfAny(tracefsPath(file)) ?? "";
  const out: ProbeEvent[] = [];
  for (const line of text.split("\n")) {
    const m = /^([pr])(?:\d*):([^/\s]+)\/(\S+)\s+(.*)$/.exec(line.trim());
    if (m) out.push({ type: m[1], group: m[2], name: m[3], where: m[4] });
  }
  return out;
}

/**
 * Whether this kernel needs legacy tracefs events for kprobes or uprobes (it has no PMU).
 *
 * @param kind `"kprobe"` or `"uprobe"`.
 * @returns True when libbpf will write to `<kind>_events`.
 * @example
 * ```ts
 * usesLegacyEvents("uprobe"); // false on kernels since 4.17
 * ```
 */
export function usesLegacyEvents(kind: "kprobe" | "uprobe"): boolean {
  try {
    Deno.statSync(`/sys/bus/event_source/devices/${kind}/type`);
    return false;
  } catch {
    return true;
  }
}

const swept = new Set<ProbeEventFile>();

/**
 * Remove the legacy events libbpf left for processes that no longer exist (killed before
 * they could detach), once per process and file; later calls do nothing.
 *
 * @param file `"kprobe_events"` or `"uprobe_events"`.
 * @returns The names removed.
 * @example
 * ```ts
 * sweepStaleProbeEvents("uprobe_events"); // ["libbpf_4242_bin_bash_0x1000_0"]
 * ```
 */
export function sweepStaleProbeEvents(file: ProbeEventFile): string[] {
  if (swept.has(file)) return [];
  swept.add(file);
  return removeStaleProbeEvents(file);
}

/**
 * Remove, now, the legacy events libbpf made for processes that no longer exist.
 *
 * @param file `"kprobe_events"` or `"uprobe_events"`.
 * @returns The names removed.
 * @example
 * ```ts
 * removeStaleProbeEvents("kprobe_events");
 * ```
 */
export function removeStaleProbeEvents(file: ProbeEventFile): string[] {
  return removeEvents(file, (pid) => pid !== Deno.pid && !pathExists(`/proc/${pid}`)).removed;
}

/**
 * Remove the legacy events libbpf named after one process (`libbpf_<pid>_…`): what the
 * reaper does once that process is gone. An event still in use is left (the kernel refuses
 * with EBUSY), so a live process's events are never taken from it.
 *
 * @param file `"kprobe_events"` or `"uprobe_events"`.
 * @param pid The process.
 * @returns How many of its events are left.
 * @example
 * ```ts
 * removeProbeEventsOf("uprobe_events", 4242); // 0
 * ```
 */
export function removeProbeEventsOf(file: ProbeEventFile, pid: number): number {
  return removeEvents(file, (p) => p === pid).left;
}

function removeEvents(
  file: ProbeEventFile,
  whose: (pid: number) => boolean,
): { removed: string[]; left: number } {
  const path = tracefsPath(file);
  const removed: string[] = [];
  let left = 0;
  if (!path) return { removed, left };
  for (const e of probeEvents(file)) {
    const pid = /^libbpf_(\d+)_/.exec(e.name)?.[1];
    if (!pid || !whose(Number(pid))) continue;
    try {
      // O_APPEND: writing without it would clear every event in the file.
      Deno.writeTextFileSync(path, `-:${e.group}/${e.name}\n`, { append: true });
      removed.push(e.name);
    } catch {
      // Busy (still open somewhere) or already gone: leave it.
      left++;
    }
  }
  return { removed, left };
}
