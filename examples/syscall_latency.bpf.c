// SPDX-License-Identifier: GPL-2.0
// Syscall latency by syscall, for `bpfsh serve examples/syscall_latency.yaml`: the time from
// sys_enter to sys_exit of each thread, counted into a log2 histogram per syscall number.
// The value holds the slots and the exact sum, so Prometheus gets a true _sum.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define SLOTS 40 /* slot i: latencies up to 2^i - 1 ns; the last slot also counts longer */

/* Only this process id (0: every process). */
const volatile __u32 filter_pid = 0;

struct latency {
	__u64 slots[SLOTS];
	__u64 sum_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* thread id */
	__type(value, __u64); /* sys_enter time, ns */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __u32); /* syscall number */
	__type(value, struct latency);
} latency SEC(".maps");

/* bcc's bpf_log2l: floor(log2(v)) + 1, and 1 for v = 0. */
static __always_inline __u32 log2l(__u64 v)
{
	__u32 r = 0;

	while (v && r < 64) { /* bounded: the verifier sees at most 64 rounds */
		v >>= 1;
		r++;
	}
	return r ? r : 1;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int on_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 ts;

	if (filter_pid && (id >> 32) != filter_pid)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	static const struct latency zero;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 nr = (__u32)ctx->id, slot;
	struct latency *l;
	__u64 *ts, delta;

	ts = bpf_map_lookup_elem(&start, &tid);
	if (!ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&start, &tid);

	l = bpf_map_lookup_elem(&latency, &nr);
	if (!l) {
		bpf_map_update_elem(&latency, &nr, &zero, BPF_NOEXIST);
		l = bpf_map_lookup_elem(&latency, &nr);
		if (!l)
			return 0;
	}
	slot = log2l(delta);
	if (slot >= SLOTS)
		slot = SLOTS - 1;
	__sync_fetch_and_add(&l->slots[slot], 1);
	__sync_fetch_and_add(&l->sum_ns, delta);
	return 0;
}
