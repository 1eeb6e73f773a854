// SPDX-License-Identifier: GPL-2.0
// offcputime: time spent blocked (off CPU), summed per kernel and user stack, like bcc's
// offcputime. At sched_switch the task leaving the CPU has its stacks and the time taken;
// when it is switched back in, the time it was away is added to those stacks.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/filter.bpf.h"
#include "lib/stacks.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 min_block_ns = 1000; /* ignore shorter blocks */
const volatile __u64 max_block_ns = -1;   /* ignore longer blocks */

/* A task that left the CPU: when, and with which stacks. */
struct off_cpu {
	__u64 start_ns;
	struct stack_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* thread id */
	__type(value, struct off_cpu);
} start SEC(".maps");

SEC("tracepoint/sched/sched_switch")
int on_switch(struct trace_event_raw_sched_switch *ctx)
{
	__u64 now = bpf_ktime_get_ns(), delta;
	__u32 prev = ctx->prev_pid, next = ctx->next_pid;
	struct off_cpu *off, rec = {};

	/* The current task is prev: record its stacks as it leaves. */
	if (prev != 0 && task_allowed()) {
		rec.start_ns = now;
		stack_key_of_current(ctx, &rec.key);
		bpf_map_update_elem(&start, &prev, &rec, BPF_ANY);
	}
	/* next comes back: add the time it was away. */
	off = bpf_map_lookup_elem(&start, &next);
	if (!off)
		return 0;
	delta = now - off->start_ns;
	if (delta >= min_block_ns && delta <= max_block_ns)
		stack_count_add(&off->key, delta);
	bpf_map_delete_elem(&start, &next);
	return 0;
}
