// trace_pipe's --demo source: one bpf_printk line per execve.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_execve")
int say_exec(void *ctx)
{
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	bpf_printk("execve by %s (uid %d)", comm, (u32)bpf_get_current_uid_gid());
	return 0;
}
