// ringbuf_tail's default source: process starts and exits as events on a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct lifecycle_event {
	u64 ts;         // ns since boot
	u32 pid;
	u32 ppid;
	u32 uid;
	int exit_code;  // exits only
	u8 exited;      // 0: exec, 1: exit
	char comm[16];
};
// Puts the event struct into BTF: clang emits BTF only for types globals or maps reach.
struct lifecycle_event *unused_lifecycle_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static void emit(u8 exited, int exit_code)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct lifecycle_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return;
	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (u32)bpf_get_current_uid_gid();
	e->exit_code = exit_code;
	e->exited = exited;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	emit(0, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if ((u32)id != id >> 32) // threads: report the process only
		return 0;
	emit(1, BPF_CORE_READ(task, exit_code) >> 8);
	return 0;
}
