// SPDX-License-Identifier: GPL-2.0
// BPF side shared by the stream benchmarks' producers: both record types kept in BTF, the
// counters map the readers check, and the exec events: 16 programs in rotation, each with
// its path and comm, copied the way execsnoop copies them (the bytes after the NUL are left
// as they were).
#ifndef BENCH_EXEC_BPF_H
#define BENCH_EXEC_BPF_H

#include "bench_events.h"
#include "../include/maps.bpf.h"

/* [0] records sent, [1] records dropped (the ring was full, or the kernel refused them). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Keep both record types in BTF for the readers' codecs. */
struct event16 *unused16 __attribute__((unused));
struct exec_event *unused_exec __attribute__((unused));

/* Add one test run's records sent and dropped to the counters. */
static __always_inline void account(__u64 sent, __u64 dropped)
{
	array_add(&counts, 0, sent);
	array_add(&counts, 1, dropped);
}

static const char exec_paths[16][40] = {
	"/usr/bin/sh", "/usr/bin/ls", "/usr/bin/cat", "/usr/bin/grep",
	"/usr/bin/sed", "/usr/bin/awk", "/usr/local/bin/node", "/usr/bin/git",
	"/usr/lib/git-core/git-remote-https", "/usr/bin/python3.11", "/usr/bin/uname",
	"/usr/sbin/ip", "/usr/bin/systemctl", "/usr/bin/bash", "/usr/bin/env", "/usr/bin/make",
};

static const char exec_comms[16][16] = {
	"sh", "ls", "cat", "grep", "sed", "awk", "node", "git",
	"git-remote-http", "python3.11", "uname", "ip", "systemctl", "bash", "env", "make",
};

/* Fill exec event number i of a producer with tgid pid. */
static __always_inline void fill_exec(struct exec_event *e, __u64 i, __u32 pid)
{
	__u32 k = i & 15;

	e->pid = pid + k;
	e->ppid = pid;
	e->uid = bpf_get_current_uid_gid();
	e->ts = bpf_ktime_get_ns();
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), exec_comms[k]);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), exec_paths[k]);
}

#endif
