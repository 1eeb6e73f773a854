// C baseline for the map iteration benchmark: a hash map of N u32 keys -> 16-byte
// values, read in full with bpf_map_lookup_batch, RUNS times; prints one ms figure per run.
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct value { unsigned long long a, b; };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? atoi(argv[1]) : 1000000, runs = argc > 2 ? atoi(argv[2]) : 5;
	unsigned batch = 8192;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_c", 4, sizeof(struct value), n, NULL);
	if (fd < 0) { perror("bpf_map_create"); return 1; }
	for (unsigned i = 0; i < n; i++) {
		struct value v = { i, i * 2ULL };
		if (bpf_map_update_elem(fd, &i, &v, BPF_ANY)) { perror("update"); return 1; }
	}
	unsigned *keys = malloc(batch * 4);
	struct value *vals = malloc(batch * sizeof(struct value));
	for (unsigned r = 0; r < runs; r++) {
		double t0 = now_ms();
		unsigned long long total = 0, sum = 0;
		unsigned in = 0, out = 0, count;
		void *inp = NULL;
		for (;;) {
			count = batch;
			int err = bpf_map_lookup_batch(fd, inp, &out, keys, vals, &count, NULL);
			for (unsigned i = 0; i < count; i++) sum += vals[i].a; // touch the data
			total += count;
			if (err < 0) { if (errno == ENOENT) break; perror("lookup_batch"); return 1; }
			in = out; inp = &in;
		}
		printf("%.2f %llu %llu\n", now_ms() - t0, total, sum);
	}
	return 0;
}
