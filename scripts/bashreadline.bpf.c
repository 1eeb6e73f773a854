// SPDX-License-Identifier: GPL-2.0
// bashreadline: the lines typed into bash, from a uretprobe on readline() (bash links
// its own copy of GNU readline), in the style of bcc's bashreadline. The script attaches
// the probe to the binary it finds.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lib/filter.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define LINE_LEN 256

struct event {
	__u32 pid;
	__u32 uid;
	char comm[COMM_LEN];
	char line[LINE_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Puts struct event in the object's BTF, where the reader finds its layout. */
struct event *unused_event __attribute__((unused));

SEC("uretprobe")
int BPF_KRETPROBE(printret, const char *ret)
{
	struct event *e;

	/* NULL at end of input (Ctrl-D). */
	if (!ret || !task_allowed())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->line, sizeof(e->line), ret) < 0)
		e->line[0] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
