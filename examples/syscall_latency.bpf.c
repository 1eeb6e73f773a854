// SPDX-License-Identifier: GPL-2.0
// Syscall latency by syscall, for `bpfsh serve examples/syscall_latency.yaml`: the time from
// sys_enter to sys_exit of each thread, counted into a log2 histogram per syscall number.
// The value holds the slots and the exact sum, so Prometheus gets a true _sum.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "../include/maps.bpf.h"

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

SEC("tracepoint/raw_syscalls/sys_enter")
int on_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if (filter_pid && (id >> 32) != filter_pid)
		return 0;
	stamp(&start, &tid);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	static const struct latency zero;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 nr = (__u32)ctx->id, slot;
	struct latency *l;
	__u64 delta;

	if (!elapsed(&start, &tid, &delta))
		return 0;
	l = lookup_or_init(&latency, &nr, &zero);
	if (!l)
		return 0;
	slot = log2l(delta);
	if (slot >= SLOTS)
		slot = SLOTS - 1;
	__sync_fetch_and_add(&l->slots[slot], 1);
	__sync_fetch_and_add(&l->sum_ns, delta);
	return 0;
}
