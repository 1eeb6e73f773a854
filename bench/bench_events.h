// SPDX-License-Identifier: GPL-2.0
// The records the stream benchmarks produce, shared by the BPF producers and the C readers.
#ifndef BENCH_EVENTS_H
#define BENCH_EVENTS_H

struct event16 {
	__u32 pid;
	__u32 x;
	__u64 ts;
};

struct event128 {
	__u32 pid;
	__u32 x;
	__u64 ts;
	__u32 args[4];
	char comm[16];
	char filename[80];
};

#endif
