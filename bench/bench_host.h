// SPDX-License-Identifier: GPL-2.0
// Host-side plumbing shared by the C stream benchmarks: the clock, running the producer
// program with BPF_PROG_TEST_RUN, its counters map, the producer thread of the live runs,
// and the `produce` mode that runs the producer of another process (bpfsh's live runs)
// from a process of its own. The includer defines CHUNK, the records of one test run.
#ifndef BENCH_HOST_H
#define BENCH_HOST_H

#ifndef CHUNK
#error "define CHUNK (records per BPF_PROG_TEST_RUN) before including bench_host.h"
#endif

#include <bpf/bpf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "bench_events.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ctx = { u64 count, u64 flags }: the perf producer reads only the count. */
static int run_producer(int prog_fd, __u64 count, __u64 flags)
{
	__u64 args[2] = { count, flags };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	return bpf_prog_test_run_opts(prog_fd, &opts);
}

/* The producer's counters map: [0] sent, [1] dropped. */
static __u64 counter(int fd, __u32 key)
{
	__u64 v = 0;

	bpf_map_lookup_elem(fd, &key, &v);
	return v;
}

static void reset(int fd)
{
	__u64 zero = 0;

	for (__u32 k = 0; k < 2; k++)
		bpf_map_update_elem(fd, &k, &zero, BPF_ANY);
}

/*
 * Run COUNT records of the producer PROG_FD in chunks of CHUNK, or, when RATE (records/s)
 * is not 0, at that rate: one chunk per millisecond, each started at its due time.
 */
static int produce(int prog_fd, __u64 count, __u64 flags, __u64 chunk, __u64 rate)
{
	struct timespec due;

	if (rate > 0) {
		chunk = rate / 1000 > 0 ? rate / 1000 : 1;
		clock_gettime(CLOCK_MONOTONIC, &due);
	}
	for (__u64 left = count; left > 0;) {
		__u64 n = left < chunk ? left : chunk;

		if (run_producer(prog_fd, n, flags))
			return 1;
		left -= n;
		if (rate > 0) {
			due.tv_nsec += 1000000;
			if (due.tv_nsec >= 1000000000) {
				due.tv_nsec -= 1000000000;
				due.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
		}
	}
	return 0;
}

/*
 * The same for the producer program PROG_FD of process PID: the program fd is taken from
 * that process with pidfd_getfd (kernel 5.6+), so the reader's RSS stays its own.
 */
static int produce_for(int pid, int fd, __u64 count, __u64 flags, __u64 chunk, __u64 rate)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	int prog_fd = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	if (prog_fd < 0) {
		perror("pidfd_getfd");
		return 1;
	}
	return produce(prog_fd, count, flags, chunk, rate);
}

/* The producer thread of a C reader's live run: COUNT records (at RATE/s unless 0). */
struct producer {
	int prog_fd;
	__u64 count;
	__u64 rate;
	volatile int done;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	produce(p->prog_fd, p->count, 0, CHUNK, p->rate);
	p->done = 1;
	return NULL;
}

/* `produce PID PROG_FD COUNT [FLAGS [RATE]]`: see produce_for(). */
static int produce_main(int argc, char **argv)
{
	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: %s produce PID PROG_FD COUNT [FLAGS [RATE]]\n", argv[0]);
		return 2;
	}
	return produce_for(atoi(argv[2]), atoi(argv[3]), strtoull(argv[4], NULL, 10),
			   argc > 5 ? strtoull(argv[5], NULL, 10) : 0, CHUNK,
			   argc > 6 ? strtoull(argv[6], NULL, 10) : 0);
}

#endif
