/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The common filters of the tracing scripts, as `const volatile` globals the script sets
 * before load (scripts/lib/filters.ts): the verifier sees their final values, so a filter
 * that is off costs nothing.
 */
#ifndef BPFSH_FILTER_BPF_H
#define BPFSH_FILTER_BPF_H

#define COMM_LEN 16

const volatile __u32 filter_pid = 0;              /* a process (tgid); 0: any */
const volatile __u32 filter_uid = (__u32)-1;      /* a user id; -1: any */
const volatile char filter_comm[COMM_LEN] = {};   /* a command name; "": any */

/* Whether a command name is the one asked for (or no name was asked for). */
static __always_inline bool comm_allowed(const char *comm)
{
	if (!filter_comm[0])
		return true;
	for (int i = 0; i < COMM_LEN; i++) {
		if (comm[i] != filter_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* Whether the current task passes the pid, uid and comm filters. */
static __always_inline bool task_allowed(void)
{
	if (filter_pid && (bpf_get_current_pid_tgid() >> 32) != filter_pid)
		return false;
	if (filter_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != filter_uid)
		return false;
	if (filter_comm[0]) {
		char comm[COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		return comm_allowed(comm);
	}
	return true;
}

#endif /* BPFSH_FILTER_BPF_H */
