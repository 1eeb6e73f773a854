/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stack capture for the stack tools (profile, offcputime, stackcount): a stack map for
 * bpf_get_stackid(), and the notifications that let user space read a process's memory
 * map while the process lives (scripts/lib/stacks.ts): a ring buffer `stack_pids` gets the
 * process id when a process's first user stack is taken, when it execs, and when it maps
 * new code, so its frames are named even after it has exited.
 *
 * The tools count by `struct stack_key` in `counts`; `stack_key_of_current()` takes the
 * current task's stacks (`kernel_stacks` and `user_stacks` choose which) and announces
 * its process.
 *
 * User stacks are walked by frame pointers: code built without them (most distribution
 * libraries) ends a stack early or skips frames.
 */
#ifndef BPFSH_STACKS_BPF_H
#define BPFSH_STACKS_BPF_H

#include "filter.bpf.h" /* COMM_LEN */
#include "stack_pids.bpf.h"
#include "../../include/maps.bpf.h"

#define MAX_STACK_DEPTH 127

#ifndef STACK_MAP_ENTRIES
#define STACK_MAP_ENTRIES 16384
#endif

/* bpf_get_stackid(ctx, &stacks, flags): key = stack id, value = addresses, 0-terminated. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, STACK_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, __u64[MAX_STACK_DEPTH]);
} stacks SEC(".maps");

const volatile bool kernel_stacks = true; /* take kernel stacks */
const volatile bool user_stacks = true;   /* take user stacks */

/* What the tools count by: a process and its two stacks. */
struct stack_key {
	__u32 pid;
	__s32 kernel_stack; /* stack id, or a negative errno (-EFAULT: none; -EEXIST: lost) */
	__s32 user_stack;
	char comm[COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct stack_key);
	__type(value, __u64); /* a count, or nanoseconds */
} counts SEC(".maps");

/* The current task's key: its process, stacks (as asked for) and name. */
static __always_inline void stack_key_of_current(void *ctx, struct stack_key *key)
{
	key->pid = bpf_get_current_pid_tgid() >> 32;
	key->kernel_stack = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	key->user_stack = user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	bpf_get_current_comm(key->comm, sizeof(key->comm));
	if (key->user_stack >= 0)
		stack_pid_seen(key->pid);
}

/* Add to a key's count (or time). */
static __always_inline void stack_count_add(struct stack_key *key, __u64 delta)
{
	count_add(&counts, key, delta);
}

#endif /* BPFSH_STACKS_BPF_H */
