/**
 * The probe programs and the catalogue of maps and helpers that {@link features} checks:
 * what each is called, since which Linux version it exists, and what to use instead.
 *
 * @module
 */

/**
 * One tiny program per program type / attach kind. They do nothing: loading and attaching
 * them is the probe. Plain `<linux/bpf.h>`, so no vmlinux.h (nor bpftool) is needed.
 */
export const PROBES_SOURCE = `// bpfsh feature probes: each program is loaded (and attached) alone.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_getpid") int probe_tracepoint(void *ctx) { return 0; }
SEC("raw_tp/sys_enter") int probe_raw_tp(void *ctx) { return 0; }
SEC("tp_btf/sys_enter") int probe_tp_btf(void *ctx) { return 0; }
SEC("kprobe/vfs_read") int probe_kprobe(void *ctx) { return 0; }
SEC("kretprobe/vfs_read") int probe_kretprobe(void *ctx) { return 0; }
SEC("fentry/vfs_read") int probe_fentry(void *ctx) { return 0; }
SEC("fexit/vfs_read") int probe_fexit(void *ctx) { return 0; }
SEC("lsm/file_open") int probe_lsm(void *ctx) { return 0; }
SEC("uprobe") int probe_uprobe(void *ctx) { return 0; }
SEC("perf_event") int probe_perf_event(void *ctx) { return 0; }
SEC("xdp") int probe_xdp(struct xdp_md *ctx) { return XDP_PASS; }
SEC("tc") int probe_tc(struct __sk_buff *skb) { return 0; }
SEC("socket") int probe_socket(struct __sk_buff *skb) { return 0; }

char LICENSE[] SEC("license") = "GPL";
`;

/** How a program probe proves its kind works once loaded. */
export type ProbeAction =
  | { attach: string | undefined; uprobe?: false }
  | { uprobe: true }
  | { testRun: true };

/** A program type / attach kind to probe by loading (and attaching) one program. */
export interface ProgramProbe {
  /** The feature name, as users write the section prefix. */
  name: string;
  /** The function in {@link PROBES_SOURCE}. */
  program: string;
  /** What to do after load. */
  action: ProbeAction;
  /** The first Linux version that has it. */
  minKernel: string;
  /** What to use when it is missing. */
  alternative?: string;
}

const TRACE_ALTERNATIVE = "tracepoint/CATEGORY/NAME, raw_tp/NAME or tp_btf/NAME " +
  "(e.g. tracepoint/syscalls/sys_enter_openat instead of a syscall kprobe)";

/** The program probes, in the order the report lists them. */
export const PROGRAM_PROBES: ProgramProbe[] = [
  {
    name: "tracepoint",
    program: "probe_tracepoint",
    action: { attach: undefined },
    minKernel: "4.7",
    alternative: "raw_tp/NAME",
  },
  {
    name: "raw_tp",
    program: "probe_raw_tp",
    action: { attach: undefined },
    minKernel: "4.17",
    alternative: "tracepoint/CATEGORY/NAME",
  },
  {
    name: "tp_btf",
    program: "probe_tp_btf",
    action: { attach: undefined },
    minKernel: "5.5",
    alternative: "raw_tp/NAME",
  },
  {
    name: "kprobe",
    program: "probe_kprobe",
    action: { attach: undefined },
    minKernel: "4.1",
    alternative: TRACE_ALTERNATIVE,
  },
  {
    name: "kretprobe",
    program: "probe_kretprobe",
    action: { attach: undefined },
    minKernel: "4.1",
    alternative: TRACE_ALTERNATIVE,
  },
  {
    name: "fentry",
    program: "probe_fentry",
    action: { attach: undefined },
    minKernel: "5.5",
    alternative: "tp_btf/NAME or raw_tp/NAME (or tracepoint/CATEGORY/NAME)",
  },
  {
    name: "fexit",
    program: "probe_fexit",
    action: { attach: undefined },
    minKernel: "5.5",
    alternative: "tp_btf/NAME or raw_tp/NAME on the matching exit tracepoint",
  },
  {
    name: "lsm",
    program: "probe_lsm",
    action: { attach: undefined },
    minKernel: "5.7",
    alternative:
      "nothing enforces policy without it; to observe the hook, use tp_btf/NAME or tracepoint/CATEGORY/NAME",
  },
  { name: "uprobe", program: "probe_uprobe", action: { uprobe: true }, minKernel: "4.3" },
  {
    name: "perf_event",
    program: "probe_perf_event",
    action: { attach: "cpu-clock:1hz" },
    minKernel: "4.9",
  },
  {
    name: "xdp",
    program: "probe_xdp",
    action: { testRun: true },
    minKernel: "4.8",
    alternative: "tc",
  },
  {
    name: "tc",
    program: "probe_tc",
    action: { testRun: true },
    minKernel: "4.1",
    alternative: "xdp",
  },
  { name: "socket_filter", program: "probe_socket", action: { testRun: true }, minKernel: "3.19" },
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
const KPROBE = 2;

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
