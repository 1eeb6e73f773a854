/**
 * Explanations for attach and load failures caused by what this kernel lacks (no
 * kprobes, fentry/fexit refused), each naming an alternative that works.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { pathExists } from "./files.ts";

/**
 * Whether this kernel can attach kprobes (CONFIG_KPROBES / CONFIG_KPROBE_EVENTS).
 *
 * @returns False when neither the kprobe PMU nor tracefs kprobe_events exists.
 * @example
 * ```ts
 * if (!kprobesAvailable()) console.log("use a tracepoint");
 * ```
 */
export function kprobesAvailable(): boolean {
  return pathExists("/sys/bus/event_source/devices/kprobe") ||
    pathExists("/sys/kernel/tracing/kprobe_events") ||
    pathExists("/sys/kernel/debug/tracing/kprobe_events");
}

let fprobe: boolean | undefined;

/**
 * Whether this kernel has kprobe.multi links (Linux 5.18+ built with CONFIG_FPROBE): its
 * fprobe functions are in /proc/kallsyms exactly when it is built in.
 *
 * @returns True when kprobe.multi links can be made.
 * @example
 * ```ts
 * kprobeMultiAvailable(); // false on Debian 12's 6.1
 * ```
 */
export function kprobeMultiAvailable(): boolean {
  if (!kprobesAvailable()) return false;
  if (fprobe === undefined) {
    try {
      fprobe = Deno.readTextFileSync("/proc/kallsyms").includes(" register_fprobe\n");
    } catch {
      fprobe = false;
    }
  }
  return fprobe;
}

/**
 * A suggestion for a kprobe target: the syscall tracepoint for syscall functions.
 *
 * @param func The kprobe function, e.g. `"__x64_sys_openat"` or `"do_sys_openat2"`.
 * @returns Alternative targets, in words.
 * @example
 * ```ts
 * kprobeAlternative("__x64_sys_openat"); // "tracepoint/syscalls/sys_enter_openat, …"
 * ```
 */
export function kprobeAlternative(func: string): string {
  const m = /^(?:__x64_sys_|__arm64_sys_|__se_sys_|__do_sys_|sys_|do_sys_|ksys_)(\w+?)(\d*)$/
    .exec(func);
  const generic = "a tracepoint (tracepoint/CATEGORY/NAME, see `trace` / available_events), " +
    "a raw_tp/NAME or a tp_btf/NAME program";
  if (!m) return generic;
  const sys = m[1] + (m[2] && m[1] === "openat" ? "" : m[2]);
  return `tracepoint/syscalls/sys_enter_${sys} (and sys_exit_${sys}), or ${generic}`;
}

/**
 * Replace a raw attach/load failure with an explanation when the kernel lacks the hook.
 *
 * @param e The error thrown by the attach.
 * @param kind The attach plan's kind (`"kprobe"`, `"tracing"`, …).
 * @param section The program's section.
 * @param target What was being attached to.
 * @returns A clearer BpfError, or undefined to keep the original.
 * @example
 * ```ts
 * throw kernelLacks(e, "kprobe", "kprobe/do_nanosleep", "do_nanosleep") ?? e;
 * ```
 */
export function kernelLacks(
  e: unknown,
  kind: string,
  section: string,
  target: string,
): BpfError | undefined {
  if (!(e instanceof BpfError)) return undefined;
  if ((kind === "kprobe" || kind === "kprobe_multi") && !kprobesAvailable()) {
    const func = target.replace(/^k(ret)?probe\//, "").replace(/\+.*$/, "");
    return new BpfError({
      op: e.op,
      errno: e.errno,
      message: "kprobes are not available on this kernel (CONFIG_KPROBES is not set)",
      hint: `attach to ${kprobeAlternative(func)} instead`,
      log: e.log,
      cause: e,
    });
  }
  if (
    (kind === "tracing" || kind === "lsm") && /^(fentry|fexit|fmod_ret|lsm)/.test(section) &&
    e.code === "EPERM"
  ) {
    return fentryRefused(e, section);
  }
  return undefined;
}

/**
 * The error for an iterator program (`iter/...`) the kernel refuses (EPERM even as root:
 * some kernels refuse every trampoline-style tracing program, iterators among them).
 *
 * @param e The original error.
 * @param section The program's section, e.g. `"iter/task"`.
 * @returns A BpfError naming the alternative.
 * @example
 * ```ts
 * throw iterRefused(err, "iter/task");
 * ```
 */
export function iterRefused(e: BpfError, section: string): BpfError {
  return new BpfError({
    op: e.op,
    errno: e.errno,
    message: `iterator programs are refused by this kernel ('${section}')`,
    hint: "read a map's elements with `map dump` (BpfMap.entries()), and tasks from /proc; " +
      "`doctor` shows what this kernel loads",
    log: e.log,
    cause: e,
  });
}

/**
 * The error for an fentry/fexit/lsm program the kernel refuses (EPERM on this kernel).
 *
 * @param e The original error.
 * @param section The program's section, e.g. `"fentry/do_unlinkat"`.
 * @returns A BpfError naming the alternative.
 * @example
 * ```ts
 * throw fentryRefused(err, "fentry/do_unlinkat");
 * ```
 */
export function fentryRefused(e: BpfError, section: string): BpfError {
  return new BpfError({
    op: e.op,
    errno: e.errno,
    message: `${section.split("/")[0]} programs (fentry/fexit/lsm) are refused by this kernel ` +
      `('${section}')`,
    hint: "use a tp_btf/NAME or raw_tp/NAME program on a tracepoint, or tracepoint/CATEGORY/NAME",
    log: e.log,
    cause: e,
  });
}
