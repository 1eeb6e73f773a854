/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process notifications for symbolization: the ring buffer `stack_pids` gets a process id
 * when the process's first user stack is taken (stack_pid_seen()), when it execs and when
 * it maps new code, so user space (bpf/stack/stack_pids.ts) reads its memory map while it
 * lives and names its frames even after it has exited. Include it in any object that
 * takes user stacks; its two programs attach by their sections.
 */
#ifndef BPFSH_STACK_PIDS_BPF_H
#define BPFSH_STACK_PIDS_BPF_H

/* Why user space should read a process's map now. */
enum stack_pid_reason {
	STACK_PID_SEEN = 0,	/* its first user stack */
	STACK_PID_EXEC = 1,	/* it ran a new program */
	STACK_PID_MMAP = 2,	/* it mapped new code */
};

struct stack_pid_event {
	__u32 pid;
	__u32 reason;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} stack_pids SEC(".maps");

/* Processes already announced (forgotten at exec, so the new program is read too). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} stack_pids_seen SEC(".maps");

static __always_inline void stack_pid_notify(__u32 pid, __u32 reason)
{
	struct stack_pid_event ev = { .pid = pid, .reason = reason };

	bpf_ringbuf_output(&stack_pids, &ev, sizeof(ev), 0);
}

/* Call when a user stack of the current process was taken. */
static __always_inline void stack_pid_seen(__u32 pid)
{
	__u8 one = 1;

	if (bpf_map_update_elem(&stack_pids_seen, &pid, &one, BPF_NOEXIST) == 0)
		stack_pid_notify(pid, STACK_PID_SEEN);
}

SEC("tracepoint/sched/sched_process_exec")
int stack_pids_exec(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (bpf_map_delete_elem(&stack_pids_seen, &pid) == 0)
		stack_pid_notify(pid, STACK_PID_EXEC);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int stack_pids_mmap(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	/* args: addr, len, prot, flags, fd, off; PROT_EXEC = 4 */
	if (!(ctx->args[2] & 4) || !bpf_map_lookup_elem(&stack_pids_seen, &pid))
		return 0;
	stack_pid_notify(pid, STACK_PID_MMAP);
	return 0;
}

#endif /* BPFSH_STACK_PIDS_BPF_H */
