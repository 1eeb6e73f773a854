// SPDX-License-Identifier: GPL-2.0
// Execs by command and uid, for `bpfsh serve examples/execs.yaml`: a counter per
// (uid, comm) in a hash map, and one ring buffer event per exec for OpenTelemetry logs.
// sched_process_exec fires once the new program runs, so comm is the new program's name.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "../include/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct exec_key {
	__u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct exec_key);
	__type(value, __u64); /* execs */
} execs SEC(".maps");

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Makes struct exec_event visible in BTF for the ring buffer's decoder. */
struct exec_event *unused_exec_event __attribute__((unused));

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct exec_key key = { .uid = (__u32)bpf_get_current_uid_gid() };
	struct exec_event *ev;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	increment(&execs, &key);

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->ppid = task->real_parent->tgid;
	ev->uid = key.uid;
	__builtin_memcpy(ev->comm, key.comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
