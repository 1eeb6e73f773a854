// SPDX-License-Identifier: GPL-2.0
// The map of the serve benchmark: series keyed by (uid, comm), filled from user space.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct series_key {
	__u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct series_key);
	__type(value, __u64);
} series SEC(".maps");

/* One program so the object loads like a real one; the benchmark never attaches it. */
SEC("tracepoint/syscalls/sys_enter_getpid")
int idle(void *ctx)
{
	return 0;
}
