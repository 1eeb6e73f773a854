// SPDX-License-Identifier: GPL-2.0
// The workload of bench/profile_overhead_bench.ts: a fixed amount of CPU work (a hash
// loop, with a getppid syscall every 4096 rounds so kernel stacks are sampled too), timed.
// usage: spin ROUNDS; prints the elapsed milliseconds, then the process's CPU milliseconds
// (what other processes' load on a shared machine changes least).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long work(unsigned long rounds)
{
	unsigned long h = 1469598103934665603UL;
	for (unsigned long i = 0; i < rounds; i++) {
		h = (h ^ i) * 1099511628211UL;
		if ((i & 4095) == 0)
			h += getppid();
	}
	return h;
}

int main(int argc, char **argv)
{
	struct timespec a, b, ca, cb;
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000000UL;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	sink = work(rounds);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f %.3f\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6,
	       (cb.tv_sec - ca.tv_sec) * 1e3 + (cb.tv_nsec - ca.tv_nsec) / 1e6);
	return 0;
}
