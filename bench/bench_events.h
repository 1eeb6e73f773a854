// SPDX-License-Identifier: GPL-2.0
// The records the stream benchmarks produce, shared by the BPF producers and the C readers:
// the anchors' 16-byte record, and a realistic exec event.
#ifndef BENCH_EVENTS_H
#define BENCH_EVENTS_H

struct event16 {
	__u32 pid;
	__u32 x;
	__u64 ts;
};

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u64 ts;
	char comm[16];
	char filename[256];
};

#endif
