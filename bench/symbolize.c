// SPDX-License-Identifier: GPL-2.0
// The C baseline of bench/symbolize_bench.ts: nm/addr2line-style symbolization of user
// addresses of a running process, done the way a C tool does it: /proc/PID/maps, libelf
// over each mapped file (its .symtab, else the .symtab of its debug file found by
// build-id under /usr/lib/debug, else .dynsym), sorted arrays and bisection, and each
// frame printed as "name+offset" into a buffer. Also /proc/kallsyms read, parsed and sorted.
//
// usage: symbolize PID ADDRESS_FILE RUNS
// prints: "setup_ms X", RUNS lines "lookup_ms X", "named N offsets S chars C",
//         RUNS lines "kallsyms_ms X symbols N"
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sym {
	uint64_t value, end;
	const char *name;
	int rank; /* 0 global, 1 weak, 2 local; then leading underscores */
};

struct binary {
	char path[4096];
	struct sym *syms;
	size_t nsyms;
	GElf_Phdr loads[16];
	int nloads;
	Elf *elf, *debug;
	int fd, debug_fd;
};

struct mapping {
	uint64_t start, end, offset;
	struct binary *bin;
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->rank - y->rank;
}

static Elf_Scn *find_section(Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type && sh.sh_size)
			return scn;
	}
	return NULL;
}

static int read_symbols(struct binary *b, Elf *elf, Elf_Scn *scn)
{
	GElf_Shdr sh;
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i, k = 0;
	if (!gelf_getshdr(scn, &sh) || !data)
		return -1;
	n = sh.sh_size / sh.sh_entsize;
	b->syms = calloc(n ? n : 1, sizeof(*b->syms));
	for (i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;
		int type, under = 0;
		if (!gelf_getsym(data, i, &s))
			continue;
		type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_shndx || !s.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, s.st_name);
		if (!name)
			continue;
		while (name[under] == '_')
			under++;
		b->syms[k].value = s.st_value;
		b->syms[k].end = s.st_size ? s.st_value + s.st_size : 0;
		b->syms[k].name = name;
		b->syms[k].rank = (GELF_ST_BIND(s.st_info) == STB_GLOBAL ? 0 :
				   GELF_ST_BIND(s.st_info) == STB_WEAK ? 1 : 2) * 1000 + under;
		k++;
	}
	qsort(b->syms, k, sizeof(*b->syms), cmp_sym);
	/* Keep the preferred symbol of each address; a size of 0 reaches the next one. */
	n = 0;
	for (i = 0; i < k; i++) {
		if (n && b->syms[n - 1].value == b->syms[i].value)
			continue;
		b->syms[n++] = b->syms[i];
	}
	for (i = 0; i < n; i++) {
		if (!b->syms[i].end)
			b->syms[i].end = i + 1 < n ? b->syms[i + 1].value : b->syms[i].value + 1;
	}
	b->nsyms = n;
	return 0;
}

static Elf *open_debug_file(Elf *elf, int *fd)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	char path[4096], hex[128];
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const unsigned char *id = (const unsigned char *)d->d_buf + desc_off;
			size_t i;
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_descsz > 60)
				continue;
			for (i = 0; i < nh.n_descsz; i++)
				sprintf(hex + 2 * i, "%02x", id[i]);
			snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex,
				 hex + 2);
			*fd = open(path, O_RDONLY);
			if (*fd < 0)
				return NULL;
			return elf_begin(*fd, ELF_C_READ_MMAP, NULL);
		}
	}
	return NULL;
}

static struct binary *open_binary(const char *path)
{
	struct binary *b = calloc(1, sizeof(*b));
	size_t n, i;
	Elf_Scn *scn;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->fd = open(path, O_RDONLY);
	if (b->fd < 0)
		return b;
	b->elf = elf_begin(b->fd, ELF_C_READ_MMAP, NULL);
	if (!b->elf || elf_getphdrnum(b->elf, &n))
		return b;
	for (i = 0; i < n && b->nloads < 16; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(b->elf, i, &ph) && ph.p_type == PT_LOAD)
			b->loads[b->nloads++] = ph;
	}
	if ((scn = find_section(b->elf, SHT_SYMTAB))) {
		read_symbols(b, b->elf, scn);
	} else if ((b->debug = open_debug_file(b->elf, &b->debug_fd)) &&
		   (scn = find_section(b->debug, SHT_SYMTAB))) {
		read_symbols(b, b->debug, scn);
	} else if ((scn = find_section(b->elf, SHT_DYNSYM))) {
		read_symbols(b, b->elf, scn);
	}
	return b;
}

static size_t read_maps(int pid, struct mapping *maps, size_t max)
{
	char path[64], line[8192], perms[8], file[4096];
	struct binary *bins[256];
	size_t nbins = 0, n = 0, i;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned long start, end, off, inode;
		file[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %lu %4095s", &start, &end, perms, &off, &inode,
			   file) < 5)
			continue;
		if (perms[2] != 'x' || file[0] != '/')
			continue;
		maps[n].start = start;
		maps[n].end = end;
		maps[n].offset = off;
		maps[n].bin = NULL;
		for (i = 0; i < nbins; i++) {
			if (!strcmp(bins[i]->path, file))
				maps[n].bin = bins[i];
		}
		if (!maps[n].bin && nbins < 256)
			maps[n].bin = bins[nbins++] = open_binary(file);
		n++;
	}
	fclose(f);
	return n;
}

static const struct sym *lookup(struct mapping *maps, size_t n, uint64_t addr, uint64_t *vaddr)
{
	size_t lo = 0, hi = n, i;
	struct mapping *m = NULL;
	struct binary *b;
	uint64_t off;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= maps[lo - 1].end)
		return NULL;
	m = &maps[lo - 1];
	b = m->bin;
	off = addr - m->start + m->offset;
	for (i = 0; i < (size_t)b->nloads; i++) {
		if (off >= b->loads[i].p_offset && off < b->loads[i].p_offset + b->loads[i].p_filesz)
			break;
	}
	if (i == (size_t)b->nloads || !b->nsyms)
		return NULL;
	*vaddr = off - b->loads[i].p_offset + b->loads[i].p_vaddr;
	lo = 0, hi = b->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->syms[mid].value <= *vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || *vaddr >= b->syms[lo - 1].end)
		return NULL;
	return &b->syms[lo - 1];
}

struct ksym {
	uint64_t addr;
	char *name;
};

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static size_t load_kallsyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	size_t n = 0, cap = 1 << 17, i;
	struct ksym *syms = malloc(cap * sizeof(*syms));
	while (f && fgets(line, sizeof(line), f)) {
		char *p, *name;
		uint64_t addr = strtoull(line, &p, 16);
		char t = p[1] | 0x20;
		if (!addr || (t != 't' && t != 'w'))
			continue;
		name = p + 3;
		name[strcspn(name, "\t\n")] = 0;
		if (n == cap)
			syms = realloc(syms, (cap *= 2) * sizeof(*syms));
		syms[n].addr = addr;
		syms[n].name = strdup(name);
		n++;
	}
	if (f)
		fclose(f);
	qsort(syms, n, sizeof(*syms), cmp_ksym);
	for (i = 0; i < n; i++)
		free(syms[i].name);
	free(syms);
	return n;
}

int main(int argc, char **argv)
{
	static struct mapping maps[4096];
	uint64_t *addrs = NULL;
	size_t naddrs = 0, cap = 0, nmaps, i;
	int pid, runs, r;
	double t;
	FILE *f;
	char buf[512];
	if (argc < 4) {
		fprintf(stderr, "usage: %s PID ADDRESS_FILE RUNS\n", argv[0]);
		return 2;
	}
	pid = atoi(argv[1]);
	runs = atoi(argv[3]);
	f = fopen(argv[2], "r");
	if (!f)
		return 1;
	while (fgets(buf, sizeof(buf), f)) {
		if (naddrs == cap)
			addrs = realloc(addrs, (cap = cap ? cap * 2 : 1024) * sizeof(*addrs));
		addrs[naddrs++] = strtoull(buf, NULL, 16);
	}
	fclose(f);
	elf_version(EV_CURRENT);
	t = now_ms();
	nmaps = read_maps(pid, maps, 4096);
	printf("setup_ms %.3f\n", now_ms() - t);
	for (r = 0; r < runs; r++) {
		size_t named = 0, chars = 0;
		uint64_t offsets = 0;
		t = now_ms();
		for (i = 0; i < naddrs; i++) {
			uint64_t vaddr;
			const struct sym *s = lookup(maps, nmaps, addrs[i], &vaddr);
			int len;
			if (!s) {
				len = snprintf(buf, sizeof(buf), "0x%lx", (unsigned long)addrs[i]);
			} else {
				int base = (int)strcspn(s->name, "@");
				len = snprintf(buf, sizeof(buf), "%.*s+%lu", base, s->name,
					       (unsigned long)(vaddr - s->value));
				named++;
				offsets += vaddr - s->value;
			}
			chars += len;
		}
		printf("lookup_ms %.3f\n", now_ms() - t);
		if (r == runs - 1)
			printf("named %zu offsets %lu chars %zu\n", named, (unsigned long)offsets, chars);
	}
	for (r = 0; r < runs; r++) {
		size_t n;
		t = now_ms();
		n = load_kallsyms();
		printf("kallsyms_ms %.3f symbols %zu\n", now_ms() - t, n);
	}
	return 0;
}
