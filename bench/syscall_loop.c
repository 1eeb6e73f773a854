// SPDX-License-Identifier: GPL-2.0
// The traced workload of bench/probe_bench.ts: COUNT read(2)s from /dev/zero or write(2)s to
// /dev/null of BYTES bytes each, in a tight loop, timed by the process itself (so neither
// its start-up nor the tracer's counts).
// usage: syscall_loop read|write COUNT [BYTES]; prints the elapsed and the process's CPU
// nanoseconds per call (the CPU time is what other load on a shared machine changes least;
// a BPF program on the syscall's tracepoint runs in the caller's context, so it is counted).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double ns(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e9 + (b->tv_nsec - a->tv_nsec);
}

int main(int argc, char **argv)
{
	static char buf[65536];
	if (argc < 3 || (strcmp(argv[1], "read") && strcmp(argv[1], "write"))) {
		fprintf(stderr, "usage: syscall_loop read|write COUNT [BYTES]\n");
		return 2;
	}
	int reading = argv[1][0] == 'r';
	long count = strtol(argv[2], NULL, 10);
	size_t bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	if (count <= 0 || bytes > sizeof(buf)) {
		fprintf(stderr, "syscall_loop: bad COUNT or BYTES\n");
		return 2;
	}
	int fd = open(reading ? "/dev/zero" : "/dev/null", reading ? O_RDONLY : O_WRONLY);
	if (fd < 0) {
		perror("syscall_loop: open");
		return 1;
	}
	struct timespec a, b, ca, cb;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (long i = 0; i < count; i++) {
		ssize_t n = reading ? read(fd, buf, bytes) : write(fd, buf, bytes);
		if (n != (ssize_t)bytes) {
			perror("syscall_loop");
			return 1;
		}
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f %.1f\n", ns(&a, &b) / count, ns(&ca, &cb) / count);
	return 0;
}
