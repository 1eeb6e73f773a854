// C baseline for the serve benchmark: a hash map of N series keyed {u32 uid; char comm[16]}
// -> u64, turned into Prometheus text lines RUNS times, two ways: ebpf_exporter's (one
// bpf_map_get_next_key and one lookup per entry, as its readMapValues does) and with
// bpf_map_lookup_batch. Prints "next_key_ms batch_ms bytes" per run. No Go, no client
// library: the floor of what reading and formatting costs.
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct key { unsigned uid; char comm[16]; };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *out;
static size_t used;

static void line(const struct key *k, unsigned long long v)
{
	used += sprintf(out + used, "bpfsh_bench_total{comm=\"%.16s\",uid=\"%u\"} %llu\n",
			k->comm, k->uid, v);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? atoi(argv[1]) : 100000, runs = argc > 2 ? atoi(argv[2]) : 5;
	unsigned batch = 8192;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_scrape", sizeof(struct key), 8, n, NULL);
	if (fd < 0) { perror("bpf_map_create"); return 1; }
	for (unsigned i = 0; i < n; i++) {
		struct key k = { .uid = i % 1000 };
		unsigned long long v = i;
		snprintf(k.comm, sizeof(k.comm), "comm%u", i);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) { perror("update"); return 1; }
	}
	out = malloc((size_t)n * 96);
	struct key *keys = malloc(batch * sizeof(struct key));
	unsigned long long *vals = malloc(batch * 8);
	for (unsigned r = 0; r < runs; r++) {
		struct key cur, next;
		unsigned long long v;
		void *prev = NULL;
		double t0 = now_ms();
		used = 0;
		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &v) == 0) line(&next, v);
			cur = next;
			prev = &cur;
		}
		double t1 = now_ms();
		size_t bytes = used;
		used = 0;
		unsigned in = 0, o = 0, count;
		void *inp = NULL;
		for (;;) {
			count = batch;
			int err = bpf_map_lookup_batch(fd, inp, &o, keys, vals, &count, NULL);
			for (unsigned i = 0; i < count; i++) line(&keys[i], vals[i]);
			if (err < 0) { if (errno == ENOENT) break; perror("lookup_batch"); return 1; }
			in = o; inp = &in;
		}
		printf("%.2f %.2f %zu\n", t1 - t0, now_ms() - t1, bytes);
	}
	return 0;
}
