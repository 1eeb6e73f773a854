// SPDX-License-Identifier: GPL-2.0
// profile: sample the running task's kernel and user stacks at a fixed rate on every CPU
// (a perf_event program on cpu-clock), counting each distinct stack, like bcc's profile.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/filter.bpf.h"
#include "lib/stacks.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool include_idle = false; /* count the idle task (pid 0) too */

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	struct stack_key key = {};

	if (!include_idle && (__u32)bpf_get_current_pid_tgid() == 0)
		return 0;
	if (!task_allowed())
		return 0;
	stack_key_of_current(ctx, &key);
	stack_count_add(&key, 1);
	return 0;
}
