// SPDX-License-Identifier: GPL-2.0
// TCP from the sock:inet_sock_set_state tracepoint, for `bpfsh serve examples/tcp.yaml`:
// state transitions, outgoing connects by destination, and connect latency (SYN sent to
// established) as a log2 histogram whose slot is the key of an array map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "../include/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define SLOTS 32 /* slot i: connects that took up to 2^i - 1 microseconds */

struct transition {
	int oldstate;
	int newstate;
};

struct destination {
	__u8 daddr[16]; /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
	__u16 dport;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct transition);
	__type(value, __u64);
} transitions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct destination);
	__type(value, __u64);
} connects SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);   /* the socket's address */
	__type(value, __u64); /* when its SYN went out, ns */
} syn_sent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);   /* log2 slot of the latency in microseconds */
	__type(value, __u64); /* connects */
} connect_latency SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int on_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct transition t = { .oldstate = ctx->oldstate, .newstate = ctx->newstate };
	__u64 sk = (__u64)ctx->skaddr, delta;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	increment(&transitions, &t);
	if (t.newstate == TCP_SYN_SENT) {
		struct destination d = { .dport = ctx->dport };

		/* ctx fields are read with loads of their own size: copy the address with a helper */
		bpf_probe_read_kernel(d.daddr, sizeof(d.daddr), ctx->daddr_v6);
		increment(&connects, &d);
		stamp(&syn_sent, &sk);
	} else if (t.oldstate == TCP_SYN_SENT && elapsed(&syn_sent, &sk, &delta) &&
		   t.newstate == TCP_ESTABLISHED) {
		__u32 slot = log2l(delta / 1000);
		__u64 *n;

		if (slot >= SLOTS)
			slot = SLOTS - 1;
		n = bpf_map_lookup_elem(&connect_latency, &slot);
		if (n)
			*n += 1; /* per-CPU: no other CPU writes this copy */
	}
	return 0;
}
