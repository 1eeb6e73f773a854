// SPDX-License-Identifier: GPL-2.0
// hello_tail: a raw_tp on sys_enter that dispatches each syscall through a prog_array to
// a handler for its number, in the style of bcc's hello-tail (Learning eBPF, ch. 2).
// The script fills the array: execve's handler sends an event with the file run, the
// others count; syscalls without a handler fall through and are counted apart.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "../include/maps.bpf.h"
#include "lib/filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PATH_LEN 128

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);   /* syscall number */
	__type(value, __u32); /* handler program */
} handlers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);   /* syscall number */
	__type(value, __u64); /* calls its handler took */
} handled SEC(".maps");

struct event {
	__u32 pid;
	__u32 nr;
	char comm[COMM_LEN];
	char path[PATH_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Puts struct event in the object's BTF, where the reader finds its layout. */
struct event *unused_event __attribute__((unused));

/* Syscalls that passed the filters but had no handler (read live from .bss). */
__u64 unhandled = 0;

/* Count a handled syscall. */
static __always_inline void count(__u32 nr)
{
	increment(&handled, &nr);
}

SEC("raw_tp/sys_enter")
int dispatch(struct bpf_raw_tracepoint_args *ctx)
{
	if (!task_allowed())
		return 0;
	/* args[0] is the task's pt_regs, args[1] the syscall number. */
	bpf_tail_call(ctx, &handlers, (__u32)ctx->args[1]);
	/* Still here: no program at that index. */
	__sync_fetch_and_add(&unhandled, 1);
	return 0;
}

SEC("raw_tp")
int hello_execve(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	const char *path = (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs);
	struct event *e;

	count((__u32)ctx->args[1]);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->nr = (__u32)ctx->args[1];
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The counting handlers: one program each, so the prog_array has something to choose. */
SEC("raw_tp")
int hello_openat(struct bpf_raw_tracepoint_args *ctx) { count((__u32)ctx->args[1]); return 0; }

SEC("raw_tp")
int hello_close(struct bpf_raw_tracepoint_args *ctx) { count((__u32)ctx->args[1]); return 0; }

SEC("raw_tp")
int hello_read(struct bpf_raw_tracepoint_args *ctx) { count((__u32)ctx->args[1]); return 0; }

SEC("raw_tp")
int hello_write(struct bpf_raw_tracepoint_args *ctx) { count((__u32)ctx->args[1]); return 0; }
