// SPDX-License-Identifier: GPL-2.0
// Perf buffer benchmark producer: run with BPF_PROG_TEST_RUN, it writes N fixed-size
// samples with bpf_loop into the perf event array (the ring of the CPU it runs on).
// ctx = { u64 count }.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#include "bench_exec.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

struct loop_ctx {
	void *ctx;
	__u64 sent;
	__u64 dropped;
	__u32 pid;
	struct exec_event e;
};

static long emit16(__u64 i, struct loop_ctx *c)
{
	struct event16 e = { .pid = c->pid, .x = i, .ts = i * 3 };

	if (bpf_perf_event_output(c->ctx, &pb, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		c->dropped++;
	else
		c->sent++;
	return 0;
}

static long emit_exec(__u64 i, struct loop_ctx *c)
{
	fill_exec(&c->e, i, c->pid);
	if (bpf_perf_event_output(c->ctx, &pb, BPF_F_CURRENT_CPU, &c->e, sizeof(c->e)))
		c->dropped++;
	else
		c->sent++;
	return 0;
}

/* Run the loop of one kind's emit() (inlined, so bpf_loop gets a known callback). */
static __always_inline int produce(struct bpf_raw_tracepoint_args *ctx, void *emit)
{
	struct loop_ctx c = { .ctx = ctx, .pid = bpf_get_current_pid_tgid() >> 32 };

	bpf_loop(ctx->args[0], emit, &c, 0);
	account(c.sent, c.dropped);
	return 0;
}

/* The same two entry points as ringbuf_bench.bpf.c, by the names every reader runs (each over its
 * own loop_ctx, so written out in both). */
SEC("raw_tp")
int produce16(struct bpf_raw_tracepoint_args *ctx)
{
	return produce(ctx, emit16);
}

SEC("raw_tp")
int produce_exec(struct bpf_raw_tracepoint_args *ctx)
{
	return produce(ctx, emit_exec);
}
