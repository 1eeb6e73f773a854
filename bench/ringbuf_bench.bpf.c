// SPDX-License-Identifier: GPL-2.0
// Ring buffer benchmark producer: run with BPF_PROG_TEST_RUN, it writes N fixed-size
// records with bpf_loop into a 16 MiB ring: 16-byte records (produce16) or exec events
// (produce_exec). ctx = { u64 count, u64 flags } where flags are the bpf_ringbuf_submit
// flags (0: default wake-ups, BPF_RB_NO_WAKEUP: none, but a wake-up for the last record,
// so a reader that waits on epoll before reading a filled ring wakes).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#include "bench_exec.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

struct loop_ctx {
	__u64 count;
	__u64 flags;
	__u64 sent;
	__u64 dropped;
	__u32 pid;
};

/* The submit flags of record i: the last one of a NO_WAKEUP fill still wakes. */
static __always_inline __u64 submit_flags(__u64 i, struct loop_ctx *c)
{
	return i + 1 == c->count && c->flags == BPF_RB_NO_WAKEUP ? BPF_RB_FORCE_WAKEUP : c->flags;
}

static long emit16(__u64 i, struct loop_ctx *c)
{
	struct event16 *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e) {
		c->dropped++;
		return 0;
	}
	e->pid = c->pid;
	e->x = i;
	e->ts = i * 3;
	bpf_ringbuf_submit(e, submit_flags(i, c));
	c->sent++;
	return 0;
}

static long emit_exec(__u64 i, struct loop_ctx *c)
{
	struct exec_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e) {
		c->dropped++;
		return 0;
	}
	fill_exec(e, i, c->pid);
	bpf_ringbuf_submit(e, submit_flags(i, c));
	c->sent++;
	return 0;
}

/* Run the loop of one kind's emit() (inlined, so bpf_loop gets a known callback). */
static __always_inline int produce(struct bpf_raw_tracepoint_args *ctx, void *emit)
{
	struct loop_ctx c = {
		.count = ctx->args[0],
		.flags = ctx->args[1],
		.pid = bpf_get_current_pid_tgid() >> 32,
	};

	bpf_loop(ctx->args[0], emit, &c, 0);
	account(c.sent, c.dropped);
	return 0;
}

/* The same two entry points as perfbuf_bench.bpf.c, by the names every reader runs (each over its
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
