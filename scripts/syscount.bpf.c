// SPDX-License-Identifier: GPL-2.0
// syscount: count syscalls by number (or by process), optionally with the time spent in
// them, in the style of bcc's syscount. Counted at raw_syscalls:sys_exit, where the
// result is known; the latency mode also stamps raw_syscalls:sys_enter.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/filter.bpf.h"
#include "../include/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool by_process = false;      /* key by process id instead of syscall */
const volatile bool measure_latency = false; /* sum the time spent in each syscall */
const volatile bool failed_only = false;     /* count failed syscalls only */

struct data_t {
	__u64 count;
	__u64 total_ns;
	char comm[COMM_LEN];  /* the process's name, when counting by process */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* thread id */
	__type(value, __u64); /* sys_enter time, ns */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* syscall number, or process id with by_process */
	__type(value, struct data_t);
} data SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int on_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!task_allowed())
		return 0;
	stamp(&start, &tid);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int on_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	static const struct data_t zero = {};
	struct data_t *val;
	__u64 delta = 0;
	__u32 key;

	if (measure_latency) {
		/* sys_enter applied the filters: a stamp means this task passed them. */
		if (!elapsed(&start, &tid, &delta))
			return 0;
	} else if (!task_allowed()) {
		return 0;
	}
	if (ctx->id < 0)
		return 0;
	if (failed_only && ctx->ret >= 0)
		return 0;

	key = by_process ? (__u32)(id >> 32) : (__u32)ctx->id;
	val = bpf_map_lookup_elem(&data, &key);
	if (!val) {
		/* A new key: made here, and its comm taken once. */
		val = lookup_or_init(&data, &key, &zero);
		if (!val)
			return 0;
		if (by_process)
			bpf_get_current_comm(val->comm, sizeof(val->comm));
	}
	__sync_fetch_and_add(&val->count, 1);
	if (measure_latency)
		__sync_fetch_and_add(&val->total_ns, delta);
	return 0;
}
