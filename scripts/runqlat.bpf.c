// SPDX-License-Identifier: GPL-2.0
// runqlat: run-queue latency as a log2 histogram, in the style of bcc's runqlat: the
// time from a task being woken (or preempted while runnable) to it running on a CPU.
// tp_btf programs get the scheduler's task_struct pointers with their BTF types.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lib/filter.bpf.h"

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

/* bcc's bpf_log2l: floor(log2(v)) + 1, and 1 for v = 0. */
static __always_inline __u32 log2_32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2l(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_32(hi) + 32 + 1 : log2_32(v) + 1;
}

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
	__u64 ts;

	if (!tid || !task_wanted(p))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
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
	__u64 *tsp, *count, delta;
	__u32 tid, slot;

	/* Preempted while runnable: it waits in the run queue from now. */
	if (prev->__state == TASK_RUNNING)
		enqueue(prev);

	tid = next->pid;
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	if ((__s64)delta < 0)
		return 0;
	delta /= in_ms ? 1000000 : 1000;

	slot = log2l(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	count = bpf_map_lookup_elem(&hist, &slot);
	if (!count) {
		bpf_map_update_elem(&hist, &slot, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&hist, &slot);
		if (!count)
			return 0;
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}
