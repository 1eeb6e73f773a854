// SPDX-License-Identifier: GPL-2.0
// The C baseline of bench/perfbuf_bench.ts: libbpf's perf_buffer reader with a callback
// that reads one field per sample, over the producer in perfbuf_bench.bpf.o.
//
//   perfbuf_bench OBJ SIZE MODE COUNT RUNS PAGES
//     SIZE   16 or 128 (sample size; program produce16 / produce128)
//     MODE   drain: fill this CPU's ring, then time perf_buffer__consume;
//            live:  a producer thread writes COUNT samples while the main thread reads
//                   with perf_buffer__poll (libbpf asks for a wake-up per sample);
//                   timed until every sample sent is read
//     PAGES  data pages per CPU
// Prints one JSON object per run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CHUNK 65536

struct event16 {
	__u32 pid;
	__u32 x;
	__u64 ts;
};

static volatile __u64 sum;
static volatile __u64 received;
static __u64 lost;

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	const struct event16 *e = data;

	sum += e->x;
	received++;
}

static void on_lost(void *ctx, int cpu, __u64 n)
{
	lost += n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_producer(int prog_fd, __u64 count)
{
	__u64 args[1] = { count };
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

		run_producer(p->prog_fd, n);
		left -= n;
	}
	p->done = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s OBJ SIZE drain|live COUNT RUNS PAGES\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	int size = atoi(argv[2]);
	const char *mode = argv[3];
	__u64 count = strtoull(argv[4], NULL, 10);
	int runs = atoi(argv[5]);
	int pages = atoi(argv[6]);
	char prog_name[32];

	snprintf(prog_name, sizeof(prog_name), "produce%d", size);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, prog_name));
	int pb_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "pb"));
	int counts_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "counts"));
	struct perf_buffer *pb = perf_buffer__new(pb_fd, pages, on_sample, on_lost, NULL, NULL);
	if (prog_fd < 0 || !pb) {
		fprintf(stderr, "cannot set up the perf buffer\n");
		return 1;
	}
	for (int r = 0; r < runs; r++) {
		double seconds = 0;

		received = 0;
		lost = 0;
		reset(counts_fd);
		if (strcmp(mode, "drain") == 0) {
			/* count = samples per fill; fill and drain 8 times. */
			for (int i = 0; i < 8; i++) {
				run_producer(prog_fd, count);
				double t0 = now();
				perf_buffer__consume(pb);
				seconds += now() - t0;
			}
		} else {
			struct producer p = { .prog_fd = prog_fd, .count = count };
			pthread_t th;
			double t0 = now();

			pthread_create(&th, NULL, producer_main, &p);
			for (;;) {
				perf_buffer__poll(pb, 100);
				if (p.done && received >= counter(counts_fd, 0)) {
					perf_buffer__consume(pb);
					break;
				}
			}
			seconds = now() - t0;
			pthread_join(th, NULL);
		}
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("{\"reader\":\"c\",\"mode\":\"%s\",\"size\":%d,\"events\":%llu,"
		       "\"seconds\":%.6f,\"dropped\":%llu,\"lost\":%llu,\"maxrss_kb\":%ld}\n",
		       mode, size, (unsigned long long)received, seconds,
		       (unsigned long long)counter(counts_fd, 1), (unsigned long long)lost,
		       ru.ru_maxrss);
		fflush(stdout);
	}
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return 0;
}
