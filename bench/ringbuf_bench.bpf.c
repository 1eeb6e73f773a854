// SPDX-License-Identifier: GPL-2.0
// Ring buffer benchmark producer: run with BPF_PROG_TEST_RUN, it writes N fixed-size
// records with bpf_loop into a 16 MiB ring. ctx = { u64 count, u64 flags } where flags are
// the bpf_ringbuf_submit flags (0: default wake-ups, BPF_RB_NO_WAKEUP: none).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#include "bench_events.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

/* [0] records sent, [1] records dropped because the ring was full. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Keep both record types in BTF for the readers' codecs. */
struct event16 *unused16 __attribute__((unused));
struct event128 *unused128 __attribute__((unused));

struct loop_ctx {
	__u64 flags;
	__u64 sent;
	__u64 dropped;
	__u32 pid;
};

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
	bpf_ringbuf_submit(e, c->flags);
	c->sent++;
	return 0;
}

static long emit128(__u64 i, struct loop_ctx *c)
{
	struct event128 *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e) {
		c->dropped++;
		return 0;
	}
	e->pid = c->pid;
	e->x = i;
	e->ts = i * 3;
	e->args[0] = i;
	e->args[1] = 1;
	e->args[2] = 2;
	e->args[3] = 3;
	__builtin_memcpy(e->comm, "bench-producer", 15);
	__builtin_memcpy(e->filename, "/usr/local/bin/bench-producer", 30);
	bpf_ringbuf_submit(e, c->flags);
	c->sent++;
	return 0;
}

static void account(struct loop_ctx *c)
{
	__u32 k0 = 0, k1 = 1;
	__u64 *sent = bpf_map_lookup_elem(&counts, &k0);
	__u64 *dropped = bpf_map_lookup_elem(&counts, &k1);

	if (sent)
		__sync_fetch_and_add(sent, c->sent);
	if (dropped)
		__sync_fetch_and_add(dropped, c->dropped);
}

SEC("raw_tp")
int produce16(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx c = { .flags = ctx->args[1], .pid = bpf_get_current_pid_tgid() >> 32 };

	bpf_loop(ctx->args[0], emit16, &c, 0);
	account(&c);
	return 0;
}

SEC("raw_tp")
int produce128(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx c = { .flags = ctx->args[1], .pid = bpf_get_current_pid_tgid() >> 32 };

	bpf_loop(ctx->args[0], emit128, &c, 0);
	account(&c);
	return 0;
}
