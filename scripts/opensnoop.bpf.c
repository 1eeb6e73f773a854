// SPDX-License-Identifier: GPL-2.0
// opensnoop: open() and openat() calls with their paths and results, in the style of
// bcc's opensnoop. The path pointer and flags are kept per thread at sys_enter, and the
// event is sent at sys_exit with the file descriptor or the error.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PATH_LEN 256

/* Ask for failed opens only. */
const volatile bool failed_only = false;

struct args_t {
	const char *fname;
	int flags;
};

struct event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	int ret;            /* the fd, or -errno */
	int flags;
	char comm[COMM_LEN];
	char fname[PATH_LEN];
};

/* Puts struct event in the object's BTF, where the reader finds its layout. */
struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);             /* thread id */
	__type(value, struct args_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

static __always_inline int enter(const char *fname, int flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct args_t args = { .fname = fname, .flags = flags };

	if (!task_allowed())
		return 0;
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int leave(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args_t *ap;
	struct event *e;

	ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	if (failed_only && ret >= 0)
		goto out;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto out;
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = ap->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Read at exit: the kernel has faulted the path in while opening it. */
	if (bpf_probe_read_user_str(e->fname, sizeof(e->fname), ap->fname) < 0)
		e->fname[0] = 0;
	bpf_ringbuf_submit(e, 0);
out:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int on_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int on_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int on_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}
