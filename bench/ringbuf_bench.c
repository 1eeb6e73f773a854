// SPDX-License-Identifier: GPL-2.0
// The C baseline of bench/ringbuf_bench.ts: libbpf's ring_buffer reader with a callback
// that reads one field per record, over the producer in ringbuf_bench.bpf.o.
//
//   ringbuf_bench OBJ SIZE MODE COUNT RUNS
//     SIZE  16 or 128 (record size; program produce16 / produce128)
//     MODE  drain: fill the ring without wake-ups, then time ring_buffer__consume;
//           live:  a producer thread writes COUNT records (default wake-ups) while the
//                  main thread reads with ring_buffer__poll; timed until the last record
//                  is read
//   ringbuf_bench produce PID PROG_FD COUNT FLAGS
//     run the producer of process PID (bpfsh's live runs), from a process of its own
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

struct event16 {
	__u32 pid;
	__u32 x;
	__u64 ts;
};

static volatile __u64 sum;
static __u64 received;

static int on_event(void *ctx, void *data, size_t size)
{
	const struct event16 *e = data;

	sum += e->x;
	received++;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_producer(int prog_fd, __u64 count, __u64 flags)
{
	__u64 args[2] = { count, flags };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	return bpf_prog_test_run_opts(prog_fd, &opts);
}

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

struct producer {
	int prog_fd;
	__u64 count;
	volatile int done;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (__u64 left = p->count; left > 0;) {
		__u64 n = left < CHUNK ? left : CHUNK;

		run_producer(p->prog_fd, n, 0);
		left -= n;
	}
	p->done = 1;
	return NULL;
}

/*
 * The producer of bpfsh's live runs, in a process of its own (so the reader's RSS is its
 * own): takes the program fd from the reader's process with pidfd_getfd (kernel 5.6+)
 * and runs it like producer_main.
 */
static int produce_main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s produce PID PROG_FD COUNT FLAGS\n", argv[0]);
		return 2;
	}
	int pidfd = syscall(SYS_pidfd_open, atoi(argv[2]), 0);
	int prog_fd = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, atoi(argv[3]), 0);
	__u64 count = strtoull(argv[4], NULL, 10), flags = strtoull(argv[5], NULL, 10);

	if (prog_fd < 0) {
		perror("pidfd_getfd");
		return 1;
	}
	for (__u64 left = count; left > 0;) {
		__u64 n = left < CHUNK ? left : CHUNK;

		if (run_producer(prog_fd, n, flags))
			return 1;
		left -= n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "produce") == 0)
		return produce_main(argc, argv);
	if (argc != 6) {
		fprintf(stderr, "usage: %s OBJ SIZE drain|live COUNT RUNS\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	int size = atoi(argv[2]);
	const char *mode = argv[3];
	__u64 count = strtoull(argv[4], NULL, 10);
	int runs = atoi(argv[5]);
	char prog_name[32];

	snprintf(prog_name, sizeof(prog_name), "produce%d", size);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, prog_name));
	int rb_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "rb"));
	int counts_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "counts"));
	struct ring_buffer *rb = ring_buffer__new(rb_fd, on_event, NULL, NULL);
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
			struct producer p = { .prog_fd = prog_fd, .count = count };
			pthread_t th;
			double t0 = now();

			double last = t0;

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
		printf("{\"reader\":\"c\",\"mode\":\"%s\",\"size\":%d,\"events\":%llu,"
		       "\"seconds\":%.6f,\"dropped\":%llu,\"maxrss_kb\":%ld}\n",
		       mode, size, (unsigned long long)received, seconds,
		       (unsigned long long)dropped, ru.ru_maxrss);
		fflush(stdout);
	}
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
