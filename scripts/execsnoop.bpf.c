// SPDX-License-Identifier: GPL-2.0
// execsnoop: every execve() with its arguments and result, in the style of bcc's
// execsnoop. The arguments are read at sys_enter_execve (the caller's memory still holds
// them), kept per thread, and sent with the return value at sys_exit_execve, when the
// task already carries the new program's name.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "lib/filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ARGSIZE 128      /* bytes kept of one argument */
#define MAXARGS 20       /* arguments kept, the file name included */
#define ARGS_BUF (ARGSIZE * MAXARGS)

/* Ask for failed exec()s only. */
const volatile bool failed_only = false;

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	int retval;
	int args_count;     /* arguments read into args */
	__u32 args_size;    /* bytes of args used: NUL-terminated strings, one after another */
	bool truncated;     /* there were more than MAXARGS arguments */
	char comm[COMM_LEN];
	__u8 args[ARGS_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);             /* thread id */
	__type(value, struct event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* A zeroed event to start from: too big for the 512-byte stack. */
static const struct event empty_event = {};

SEC("tracepoint/syscalls/sys_enter_execve")
int on_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	const char **argv = (const char **)ctx->args[1];
	struct task_struct *task;
	struct event *e;
	const char *arg;
	int n;

	if (filter_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != filter_uid)
		return 0;
	if (bpf_map_update_elem(&execs, &tid, &empty_event, BPF_ANY))
		return 0;
	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;

	e->pid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	task = (struct task_struct *)bpf_get_current_task();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	/* --pid: exec()s by that process or by its children (what a shell runs). */
	if (filter_pid && e->pid != filter_pid && e->ppid != filter_pid) {
		bpf_map_delete_elem(&execs, &tid);
		return 0;
	}

	/* The file name first, then argv[1..]: argv[0] is often not the path run. */
	n = bpf_probe_read_user_str(e->args, ARGSIZE, (const char *)ctx->args[0]);
	if (n <= 0)
		return 0;
	e->args_size = n;
	e->args_count = 1;
	for (int i = 1; i < MAXARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			return 0;
		if (e->args_size > ARGS_BUF - ARGSIZE)
			return 0;
		n = bpf_probe_read_user_str(&e->args[e->args_size], ARGSIZE, arg);
		if (n <= 0)
			return 0;
		e->args_count++;
		e->args_size += n;
	}
	/* MAXARGS read: is there one more? */
	if (!bpf_probe_read_user(&arg, sizeof(arg), &argv[MAXARGS]) && arg)
		e->truncated = true;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int on_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e;
	__u64 size;

	e = bpf_map_lookup_elem(&execs, &tid);
	if (!e)
		return 0;
	e->retval = ctx->ret;
	if (failed_only && e->retval >= 0)
		goto out;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (!comm_allowed(e->comm))
		goto out;
	/* Send only the part of args in use: the reader zero-fills the rest. */
	size = offsetof(struct event, args) + e->args_size;
	if (size > sizeof(*e))
		size = sizeof(*e);
	bpf_ringbuf_output(&events, e, size, 0);
out:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}
