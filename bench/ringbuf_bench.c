// SPDX-License-Identifier: GPL-2.0
// The C baseline of bench/ringbuf_bench.ts: libbpf's ring_buffer reader with a callback
// that reads every field of each record, over the producer in ringbuf_bench.bpf.o.
//
//   ringbuf_bench OBJ KIND MODE COUNT RUNS [RATE]
//     KIND  16 (struct event16; program produce16) or exec (struct exec_event; produce_exec)
//     MODE  drain: fill the ring without wake-ups, then time ring_buffer__consume;
//           live:  a producer thread writes COUNT records (default wake-ups) while the
//                  main thread reads with ring_buffer__poll; timed until the last record
//                  is read
//           paced: the same, the producer writing RATE records/s
//   ringbuf_bench produce PID PROG_FD COUNT FLAGS [RATE]
//     run the producer of process PID (bpfsh's live and paced runs), from a process of
//     its own
// Prints one JSON object per run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#define CHUNK 262144

#include "bench_host.h"

static volatile __u64 sum;
static __u64 received;

/* Each field read, as the other readers decode each: strings up to their NUL. */
static int on_event16(void *ctx, void *data, size_t size)
{
	const struct event16 *e = data;

	sum += e->pid + e->x + e->ts;
	received++;
	return 0;
}

static int on_exec(void *ctx, void *data, size_t size)
{
	const struct exec_event *e = data;

	sum += e->pid + e->ppid + e->uid + e->ts + strnlen(e->comm, sizeof(e->comm)) +
	       strnlen(e->filename, sizeof(e->filename));
	received++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "produce") == 0)
		return produce_main(argc, argv);
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: %s OBJ 16|exec drain|live|paced COUNT RUNS [RATE]\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	const char *kind = argv[2];
	int exec = strcmp(kind, "exec") == 0;
	const char *mode = argv[3];
	__u64 count = strtoull(argv[4], NULL, 10);
	int runs = atoi(argv[5]);
	__u64 rate = argc == 7 && strcmp(mode, "paced") == 0 ? strtoull(argv[6], NULL, 10) : 0;
	char prog_name[32];

	snprintf(prog_name, sizeof(prog_name), exec ? "produce_exec" : "produce16");
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, prog_name));
	int rb_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "rb"));
	int counts_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "counts"));
	struct ring_buffer *rb = ring_buffer__new(rb_fd, exec ? on_exec : on_event16, NULL, NULL);
	if (prog_fd < 0 || !rb) {
		fprintf(stderr, "cannot set up the ring buffer\n");
		return 1;
	}
	for (int r = 0; r < runs; r++) {
		double seconds = 0;
		__u64 dropped = 0;

		received = 0;
		reset(counts_fd);
		if (strcmp(mode, "drain") == 0) {
			/* count = records per fill; fill and drain 8 times. */
			for (int i = 0; i < 8; i++) {
				run_producer(prog_fd, count, BPF_RB_NO_WAKEUP);
				double t0 = now();
				ring_buffer__consume(rb);
				seconds += now() - t0;
			}
			dropped = counter(counts_fd, 1);
		} else {
			struct producer p = { .prog_fd = prog_fd, .count = count, .rate = rate };
			pthread_t th;
			double t0 = now();

			double last = t0;

			/*
			 * Written out in each baseline (not shared with perfbuf_bench.c): this
			 * loop is the plain libbpf use the table compares with.
			 */
			pthread_create(&th, NULL, producer_main, &p);
			for (;;) {
				/* Timed to the last record read, not to when the loop notices the end. */
				if (ring_buffer__poll(rb, 100) > 0)
					last = now();
				if (p.done && received >= counter(counts_fd, 0))
					break;
			}
			seconds = last - t0;
			pthread_join(th, NULL);
			dropped = counter(counts_fd, 1);
		}
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("{\"reader\":\"c\",\"mode\":\"%s\",\"size\":\"%s\",\"events\":%llu,"
		       "\"seconds\":%.6f,\"dropped\":%llu,\"maxrss_kb\":%ld}\n",
		       mode, kind, (unsigned long long)received, seconds,
		       (unsigned long long)dropped, ru.ru_maxrss);
		fflush(stdout);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
