/**
 * The probe programs and the catalogue of maps and helpers that {@link features} checks:
 * what each is called, since which Linux version it exists, and what to use instead.
 *
 * @module
 */

import { ATTACH_TYPE, PROG_TYPE } from "../../ffi/abi.ts";

/**
 * How a program probe proves its kind works once loaded: attached where the kind attaches
 * (and detached at once), or test-run on a packet.
 */
export type ProbeAction =
  /** A perf event on a tracepoint of tracefs, e.g. `syscalls/sys_enter_getpid`. */
  | { tracepoint: string }
  /** BPF_RAW_TRACEPOINT_OPEN on a tracepoint's name. */
  | { rawTracepoint: string }
  /** BPF_RAW_TRACEPOINT_OPEN with no name: the BTF target the program was loaded for. */
  | { btfTarget: true }
  /** A perf event of the kprobe PMU on a kernel function. */
  | { kprobe: string; retprobe: boolean }
  /** A kprobe.multi link on kernel functions. */
  | { kprobeMulti: string[] }
  /** A perf event of the uprobe PMU on a libc function, for this process only. */
  | { uprobe: string }
  /** A software perf event, e.g. `cpu-clock`. */
  | { perfEvent: string }
  /** BPF_PROG_TEST_RUN on a zeroed 64-byte packet. */
  | { testRun: true }
  /** A tcx link on interface 0: ENODEV (the attach type was accepted), and nothing attached. */
  | { tcxLink: true }
  /**
   * An iterator link (BPF_TRACE_ITER) on the BTF target the program was loaded for; a map
   * iterator's on a one-element array map made for it.
   */
  | { iterLink: "tasks" | "map" };

/**
 * A program type / attach kind to probe: a two-instruction program (`r0 = returns; exit`)
 * loaded from raw instructions, so the doctor needs no compiler, then exercised.
 */
export interface ProgramProbe {
  /** The feature name, as users write the section prefix. */
  name: string;
  /** enum bpf_prog_type. */
  progType: number;
  /** enum bpf_attach_type the program is loaded for, when the kind has one. */
  attachType?: number;
  /** The kernel BTF type the load names (tracing and LSM programs), with its kind. */
  btf?: { name: string; kind: "func" | "typedef" };
  /** What the program returns (XDP_PASS for xdp); 0 unless set. */
  returns?: number;
  /** What to do after load. */
  action: ProbeAction;
  /** The first Linux version that has it. */
  minKernel: string;
  /** What to use when it is missing. */
  alternative?: string;
  /**
   * What bpfsh does on its own when the kind is missing but kprobes work (then it replaces
   * the alternative: nothing needs changing in a program).
   */
  fallback?: string;
}

const TRACE_ALTERNATIVE = "tracepoint/CATEGORY/NAME, raw_tp/NAME or tp_btf/NAME " +
  "(e.g. tracepoint/syscalls/sys_enter_openat instead of a syscall kprobe)";

/** XDP_PASS: what the xdp probe returns. */
const XDP_PASS = 2;

/** The program probes, in the order the report lists them. */
export const PROGRAM_PROBES: ProgramProbe[] = [
  {
    name: "tracepoint",
    progType: PROG_TYPE.TRACEPOINT,
    action: { tracepoint: "syscalls/sys_enter_getpid" },
    minKernel: "4.7",
    alternative: "raw_tp/NAME",
  },
  {
    name: "raw_tp",
    progType: PROG_TYPE.RAW_TRACEPOINT,
    action: { rawTracepoint: "sys_enter" },
    minKernel: "4.17",
    alternative: "tracepoint/CATEGORY/NAME",
  },
  {
    name: "tp_btf",
    progType: PROG_TYPE.TRACING,
    attachType: ATTACH_TYPE.TRACE_RAW_TP,
    btf: { name: "btf_trace_sys_enter", kind: "typedef" },
    action: { btfTarget: true },
    minKernel: "5.5",
    alternative: "raw_tp/NAME",
  },
  {
    name: "kprobe",
    progType: PROG_TYPE.KPROBE,
    action: { kprobe: "vfs_read", retprobe: false },
    minKernel: "4.1",
    alternative: TRACE_ALTERNATIVE,
  },
  {
    name: "kretprobe",
    progType: PROG_TYPE.KPROBE,
    action: { kprobe: "vfs_read", retprobe: true },
    minKernel: "4.1",
    alternative: TRACE_ALTERNATIVE,
  },
  {
    name: "kprobe.multi",
    progType: PROG_TYPE.KPROBE,
    attachType: ATTACH_TYPE.TRACE_KPROBE_MULTI,
    action: { kprobeMulti: ["vfs_read", "vfs_write"] },
    minKernel: "5.18",
    alternative: TRACE_ALTERNATIVE,
    fallback: "bpfsh attaches kprobe.multi/GLOB and kretprobe.multi/GLOB anyway, as one " +
      "kprobe per matching function (at most 512)",
  },
  {
    name: "fentry",
    progType: PROG_TYPE.TRACING,
    attachType: ATTACH_TYPE.TRACE_FENTRY,
    btf: { name: "vfs_read", kind: "func" },
    action: { btfTarget: true },
    minKernel: "5.5",
    alternative: "tp_btf/NAME or raw_tp/NAME (or tracepoint/CATEGORY/NAME), or kprobe/FUNC",
  },
  {
    name: "fexit",
    progType: PROG_TYPE.TRACING,
    attachType: ATTACH_TYPE.TRACE_FEXIT,
    btf: { name: "vfs_read", kind: "func" },
    action: { btfTarget: true },
    minKernel: "5.5",
    alternative: "tp_btf/NAME or raw_tp/NAME on the matching exit tracepoint, or kretprobe/FUNC",
  },
  {
    name: "iter",
    progType: PROG_TYPE.TRACING,
    attachType: ATTACH_TYPE.TRACE_ITER,
    btf: { name: "bpf_iter_task", kind: "func" },
    action: { iterLink: "tasks" },
    minKernel: "5.8",
    alternative: "`map dump` for a map's elements, /proc for tasks",
  },
  {
    name: "iter.bpf_map_elem",
    progType: PROG_TYPE.TRACING,
    attachType: ATTACH_TYPE.TRACE_ITER,
    btf: { name: "bpf_iter_bpf_map_elem", kind: "func" },
    action: { iterLink: "map" },
    minKernel: "5.9",
    alternative: "`map dump` (BpfMap.entries())",
  },
  {
    name: "lsm",
    progType: PROG_TYPE.LSM,
    attachType: ATTACH_TYPE.LSM_MAC,
    btf: { name: "bpf_lsm_file_open", kind: "func" },
    action: { btfTarget: true },
    minKernel: "5.7",
    alternative:
      "nothing enforces policy without it; to observe the hook, use tp_btf/NAME or tracepoint/CATEGORY/NAME",
  },
  {
    name: "uprobe",
    progType: PROG_TYPE.KPROBE,
    action: { uprobe: "getpid" },
    minKernel: "4.3",
  },
  {
    name: "perf_event",
    progType: PROG_TYPE.PERF_EVENT,
    action: { perfEvent: "cpu-clock" },
    minKernel: "4.9",
  },
  {
    name: "xdp",
    progType: PROG_TYPE.XDP,
    returns: XDP_PASS,
    action: { testRun: true },
    minKernel: "4.8",
    alternative: "tc",
  },
  {
    name: "tc",
    progType: PROG_TYPE.SCHED_CLS,
    action: { testRun: true },
    minKernel: "4.1",
    alternative: "xdp",
  },
  {
    name: "tcx",
    progType: PROG_TYPE.SCHED_CLS,
    action: { tcxLink: true },
    minKernel: "6.6",
    alternative: "tc filters under clsact (bpfsh attaches tc programs so by itself here)",
  },
  {
    name: "socket_filter",
    progType: PROG_TYPE.SOCKET_FILTER,
    action: { testRun: true },
    minKernel: "3.19",
  },
];

/** A map type to probe by creating one. */
export interface MapProbe {
  /** libbpf's name for it. */
  name: string;
  /** enum bpf_map_type. */
  type: number;
  /** The first Linux version that has it. */
  minKernel: string;
  /** What to use when it is missing. */
  alternative?: string;
}

/** The map probes. */
export const MAP_PROBES: MapProbe[] = [
  { name: "hash", type: 1, minKernel: "3.19" },
  { name: "array", type: 2, minKernel: "3.19" },
  { name: "prog_array", type: 3, minKernel: "4.2" },
  { name: "perf_event_array", type: 4, minKernel: "4.3", alternative: "ringbuf" },
  { name: "percpu_hash", type: 5, minKernel: "4.6", alternative: "hash" },
  { name: "percpu_array", type: 6, minKernel: "4.6", alternative: "array" },
  { name: "stack_trace", type: 7, minKernel: "4.6" },
  { name: "lru_hash", type: 9, minKernel: "4.10", alternative: "hash" },
  { name: "lru_percpu_hash", type: 10, minKernel: "4.10", alternative: "percpu_hash" },
  { name: "lpm_trie", type: 11, minKernel: "4.11", alternative: "hash" },
  { name: "array_of_maps", type: 12, minKernel: "4.12" },
  { name: "hash_of_maps", type: 13, minKernel: "4.12" },
  { name: "devmap", type: 14, minKernel: "4.14" },
  { name: "sockmap", type: 15, minKernel: "4.14" },
  { name: "cpumap", type: 16, minKernel: "4.15" },
  { name: "xskmap", type: 17, minKernel: "4.18" },
  { name: "sockhash", type: 18, minKernel: "4.18" },
  { name: "queue", type: 22, minKernel: "4.20" },
  { name: "stack", type: 23, minKernel: "4.20" },
  { name: "sk_storage", type: 24, minKernel: "5.2" },
  { name: "ringbuf", type: 27, minKernel: "5.8", alternative: "perf_event_array" },
  { name: "inode_storage", type: 28, minKernel: "5.10" },
  { name: "task_storage", type: 29, minKernel: "5.11", alternative: "hash keyed by pid" },
  { name: "bloom_filter", type: 30, minKernel: "5.16", alternative: "hash" },
  { name: "user_ringbuf", type: 31, minKernel: "6.1" },
];

/** A helper to probe, in a program type that may call it. */
export interface HelperProbe {
  /** The helper's C name. */
  name: string;
  /** enum bpf_func_id. */
  id: number;
  /** The first Linux version that has it. */
  minKernel: string;
  /** What to call when it is missing. */
  alternative?: string;
  /** enum bpf_prog_type to probe in; tracepoint (5) unless set. */
  progType?: number;
}

/** BPF_PROG_TYPE_KPROBE: loads even without CONFIG_KPROBES (uprobes use it too). */
const KPROBE = PROG_TYPE.KPROBE;

/** The helper probes: the ones tracing scripts call. */
export const HELPER_PROBES: HelperProbe[] = [
  { name: "bpf_map_lookup_elem", id: 1, minKernel: "3.19" },
  { name: "bpf_map_update_elem", id: 2, minKernel: "3.19" },
  { name: "bpf_map_delete_elem", id: 3, minKernel: "3.19" },
  { name: "bpf_probe_read", id: 4, minKernel: "4.1", alternative: "bpf_probe_read_kernel" },
  { name: "bpf_ktime_get_ns", id: 5, minKernel: "4.1" },
  { name: "bpf_trace_printk", id: 6, minKernel: "4.1" },
  { name: "bpf_get_smp_processor_id", id: 8, minKernel: "4.1" },
  { name: "bpf_tail_call", id: 12, minKernel: "4.2" },
  { name: "bpf_get_current_pid_tgid", id: 14, minKernel: "4.2" },
  { name: "bpf_get_current_uid_gid", id: 15, minKernel: "4.2" },
  { name: "bpf_get_current_comm", id: 16, minKernel: "4.2" },
  { name: "bpf_perf_event_output", id: 25, minKernel: "4.4", alternative: "bpf_ringbuf_output" },
  { name: "bpf_get_stackid", id: 27, minKernel: "4.6", alternative: "bpf_get_stack" },
  { name: "bpf_get_current_task", id: 35, minKernel: "4.8" },
  {
    name: "bpf_probe_read_str",
    id: 45,
    minKernel: "4.11",
    alternative: "bpf_probe_read_kernel_str",
  },
  { name: "bpf_get_stack", id: 67, minKernel: "4.18", alternative: "bpf_get_stackid" },
  { name: "bpf_get_current_cgroup_id", id: 80, minKernel: "4.18" },
  { name: "bpf_send_signal", id: 109, minKernel: "5.3" },
  { name: "bpf_probe_read_user", id: 112, minKernel: "5.5", alternative: "bpf_probe_read" },
  { name: "bpf_probe_read_kernel", id: 113, minKernel: "5.5", alternative: "bpf_probe_read" },
  { name: "bpf_probe_read_user_str", id: 114, minKernel: "5.5", alternative: "bpf_probe_read_str" },
  {
    name: "bpf_probe_read_kernel_str",
    id: 115,
    minKernel: "5.5",
    alternative: "bpf_probe_read_str",
  },
  { name: "bpf_ktime_get_boot_ns", id: 125, minKernel: "5.8", alternative: "bpf_ktime_get_ns" },
  { name: "bpf_ringbuf_output", id: 130, minKernel: "5.8", alternative: "bpf_perf_event_output" },
  { name: "bpf_ringbuf_reserve", id: 131, minKernel: "5.8", alternative: "bpf_perf_event_output" },
  { name: "bpf_ringbuf_submit", id: 132, minKernel: "5.8", alternative: "bpf_perf_event_output" },
  { name: "bpf_ringbuf_discard", id: 133, minKernel: "5.8" },
  {
    name: "bpf_get_current_task_btf",
    id: 158,
    minKernel: "5.11",
    alternative: "bpf_get_current_task",
  },
  { name: "bpf_snprintf", id: 165, minKernel: "5.13", alternative: "bpf_trace_printk" },
  { name: "bpf_get_func_ip", id: 173, minKernel: "5.15", progType: KPROBE },
  { name: "bpf_get_attach_cookie", id: 174, minKernel: "5.15" },
  { name: "bpf_loop", id: 181, minKernel: "5.17", alternative: "a bounded for loop" },
];
