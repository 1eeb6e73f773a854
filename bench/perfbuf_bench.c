// SPDX-License-Identifier: GPL-2.0
// The C baseline of bench/perfbuf_bench.ts: libbpf's perf_buffer reader with a callback
// that reads every field of each sample, over the producer in perfbuf_bench.bpf.o.
//
//   perfbuf_bench OBJ KIND MODE COUNT RUNS PAGES
//     KIND   16 (struct event16; program produce16) or exec (struct exec_event; produce_exec)
//     MODE   drain: fill this CPU's ring, then time perf_buffer__consume (a raw perf
//                   buffer waking every 64 samples: see on_record);
//            live:  a producer thread writes COUNT samples while the main thread reads
//                   with perf_buffer__poll (libbpf asks for a wake-up per sample);
//                   timed until the last sample sent is read
//     PAGES  data pages per CPU
//   perfbuf_bench produce PID PROG_FD COUNT
//     run the producer of process PID (bpfsh's live runs), from a process of its own
// Prints one JSON object per run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

#define CHUNK 65536

#include "bench_host.h"

static volatile __u64 sum;
static volatile __u64 received;
static __u64 lost;

static int exec;

/* Each field read, as the other readers decode each: strings up to their NUL. */
static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	if (exec) {
		const struct exec_event *e = data;

		sum += e->pid + e->ppid + e->uid + e->ts + strnlen(e->comm, sizeof(e->comm)) +
		       strnlen(e->filename, sizeof(e->filename));
	} else {
		const struct event16 *e = data;

		sum += e->pid + e->x + e->ts;
	}
	received++;
}

static void on_lost(void *ctx, int cpu, __u64 n)
{
	lost += n;
}

/*
 * The drained case's records, handed over as libbpf's perf_buffer__new would: libbpf 1.1
 * asks for a wake-up per sample, an irq_work each, which makes the (untimed) fill many
 * times slower (bench/NOTES.md). perf_buffer__new_raw with the wake-up policy of bpfsh's
 * reader (one per 64 samples) fills as fast, and reads the same way.
 */
struct sample_raw {
	struct perf_event_header header;
	__u32 size;
	char data[];
};

struct lost_raw {
	struct perf_event_header header;
	__u64 id;
	__u64 lost;
};

static enum bpf_perf_event_ret on_record(void *ctx, int cpu, struct perf_event_header *e)
{
	if (e->type == PERF_RECORD_SAMPLE) {
		struct sample_raw *s = (void *)e;

		on_sample(ctx, cpu, s->data, s->size);
	} else if (e->type == PERF_RECORD_LOST) {
		on_lost(ctx, cpu, ((struct lost_raw *)e)->lost);
	}
	return LIBBPF_PERF_EVENT_CONT;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "produce") == 0)
		return produce_main(argc, argv);
	if (argc != 7) {
		fprintf(stderr, "usage: %s OBJ 16|exec drain|live COUNT RUNS PAGES\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	const char *kind = argv[2];
	const char *mode = argv[3];
	__u64 count = strtoull(argv[4], NULL, 10);
	int runs = atoi(argv[5]);
	int pages = atoi(argv[6]);
	char prog_name[32];

	exec = strcmp(kind, "exec") == 0;
	snprintf(prog_name, sizeof(prog_name), exec ? "produce_exec" : "produce16");
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, prog_name));
	int pb_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "pb"));
	int counts_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "counts"));
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.wakeup_events = 64,
	};
	struct perf_buffer *pb = strcmp(mode, "drain") == 0
		? perf_buffer__new_raw(pb_fd, pages, &attr, on_record, NULL, NULL)
		: perf_buffer__new(pb_fd, pages, on_sample, on_lost, NULL, NULL);
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
				run_producer(prog_fd, count, 0);
				double t0 = now();
				perf_buffer__consume(pb);
				seconds += now() - t0;
			}
		} else {
			struct producer p = { .prog_fd = prog_fd, .count = count };
			pthread_t th;
			double t0 = now();

			double last = t0;

			/*
			 * Written out in each baseline (not shared with ringbuf_bench.c): this
			 * loop is the plain libbpf use the table compares with.
			 */
			pthread_create(&th, NULL, producer_main, &p);
			for (;;) {
				/* Timed to the last sample read, not to when the loop notices the end. */
				if (perf_buffer__poll(pb, 100) > 0)
					last = now();
				if (p.done && received >= counter(counts_fd, 0)) {
					if (perf_buffer__consume(pb) > 0)
						last = now();
					break;
				}
			}
			seconds = last - t0;
			pthread_join(th, NULL);
		}
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("{\"reader\":\"c\",\"mode\":\"%s\",\"size\":\"%s\",\"events\":%llu,"
		       "\"seconds\":%.6f,\"dropped\":%llu,\"lost\":%llu,\"maxrss_kb\":%ld}\n",
		       mode, kind, (unsigned long long)received, seconds,
		       (unsigned long long)counter(counts_fd, 1), (unsigned long long)lost,
		       ru.ru_maxrss);
		fflush(stdout);
	}
	perf_buffer__free(pb);
	bpf_object__close(obj);
	return 0;
}
