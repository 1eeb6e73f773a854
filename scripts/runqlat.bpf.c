// SPDX-License-Identifier: GPL-2.0
// runqlat: run-queue latency as a log2 histogram, in the style of bcc's runqlat: the
// time from a task being woken (or preempted while runnable) to it running on a CPU.
// tp_btf programs get the scheduler's task_struct pointers with their BTF types.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lib/filter.bpf.h"
#include "../include/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_SLOTS 64
#define TASK_RUNNING 0

const volatile bool in_ms = false; /* milliseconds instead of microseconds */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);   /* thread id */
	__type(value, __u64); /* enqueue time, ns */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);   /* log2 slot, as bcc's bpf_log2l(): 0 → 1, [2^(i-1), 2^i) → i */
	__type(value, __u64); /* count */
} hist SEC(".maps");

/* Whether a task (not the current one) passes the pid, uid and comm filters. */
static __always_inline bool task_wanted(struct task_struct *p)
{
	if (filter_pid && p->tgid != filter_pid)
		return false;
	if (filter_uid != (__u32)-1 && BPF_CORE_READ(p, cred, uid.val) != filter_uid)
		return false;
	if (filter_comm[0]) {
		char comm[COMM_LEN];

		bpf_probe_read_kernel_str(comm, sizeof(comm), p->comm);
		return comm_allowed(comm);
	}
	return true;
}

static __always_inline int enqueue(struct task_struct *p)
{
	__u32 tid = p->pid;

	if (!tid || !task_wanted(p))
		return 0;
	stamp(&start, &tid);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return enqueue(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return enqueue(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	static const __u64 zero;
	__u64 *count, delta;
	__u32 tid, slot;

	/* Preempted while runnable: it waits in the run queue from now. */
	if (prev->__state == TASK_RUNNING)
		enqueue(prev);

	tid = next->pid;
	if (!elapsed(&start, &tid, &delta) || (__s64)delta < 0)
		return 0;
	delta /= in_ms ? 1000000 : 1000;

	slot = log2l(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	count = lookup_or_init(&hist, &slot, &zero);
	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);
	return 0;
}
