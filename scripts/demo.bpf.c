// The live demo: every exec as an event on a ring buffer, and exec counts per uid.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "../include/maps.bpf.h"
#include "lib/filter.bpf.h"

struct exec_event {
	u32 pid;
	u32 ppid;
	u32 uid;
	char comm[16];
	char filename[64];
};
// Puts the event struct into the object's BTF so readers can decode it by name: clang only
// emits BTF for types that globals, maps or function signatures reach, not for locals.
struct exec_event *unused_exec_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);   // uid
	__type(value, u64); // execs
} execs_by_uid SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	if (!task_allowed())
		return 0;
	u32 uid = (u32)bpf_get_current_uid_gid();
	increment(&execs_by_uid, &uid);

	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = task->real_parent->tgid;
	e->uid = uid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	unsigned off = ctx->__data_loc_filename & 0xffff;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
