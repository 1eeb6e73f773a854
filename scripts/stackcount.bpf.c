// SPDX-License-Identifier: GPL-2.0
// stackcount: count the kernel and user stacks that reach a tracepoint or a uprobe, in
// the style of bcc's stackcount. The script attaches one of the two programs to the
// target given on its command line.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lib/filter.bpf.h"
#include "lib/stacks.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int count_stack(void *ctx)
{
	struct stack_key key = {};

	if (!task_allowed())
		return 0;
	stack_key_of_current(ctx, &key);
	stack_count_add(&key, 1);
	return 0;
}

SEC("tracepoint")
int on_tracepoint(void *ctx)
{
	return count_stack(ctx);
}

SEC("uprobe")
int on_uprobe(struct pt_regs *ctx)
{
	return count_stack(ctx);
}
