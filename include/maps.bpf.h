/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the BPF programs of scripts/, examples/, bench/ and tests/fixtures/ share (as
 * libbpf-tools' maps.bpf.h and bits.bpf.h are shared by its tools): counters, values made
 * on first use, start times, log2 slots. Include it after vmlinux.h (or linux/bpf.h) and
 * bpf/bpf_helpers.h, by a path relative to the source: `#include "../include/maps.bpf.h"`.
 *
 * Map declarations stay written out in each program, alike as many are (a thread id's start
 * time, a ring buffer of 256 KiB): they are its interface, the names, types and sizes a
 * reader of the program and of its BTF looks for at the top of the file.
 */
#ifndef BPFSH_MAPS_BPF_H
#define BPFSH_MAPS_BPF_H

/*
 * Add `n` to the u64 at `key`, inserting `n` when there is none yet. Two CPUs inserting
 * the same new key at once keep one of their adds (the second insert fails): fine for
 * counters read as rates or totals, as bcc's and libbpf-tools' are.
 */
static __always_inline void count_add(void *map, const void *key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, key);

	if (v)
		__sync_fetch_and_add(v, n);
	else
		bpf_map_update_elem(map, key, &n, BPF_NOEXIST);
}

/* Count one at `key` (see count_add). */
static __always_inline void increment(void *map, const void *key)
{
	count_add(map, key, 1);
}

/* Add `n` to the u64 at index `slot` of an array map (nothing past its end). */
static __always_inline void array_add(void *map, __u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &slot);

	if (v)
		__sync_fetch_and_add(v, n);
}

/*
 * The value at `key`, made from `init` first when there is none (libbpf-tools'
 * bpf_map_lookup_or_try_init); NULL when the map is full.
 */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Store now (bpf_ktime_get_ns) as the start time of `key`: a thread's sys_enter, a SYN. */
static __always_inline void stamp(void *map, const void *key)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(map, key, &now, BPF_ANY);
}

/*
 * The nanoseconds since `key`'s stamp, into `*delta`, and the stamp deleted: 1, or 0 (and
 * `*delta` untouched) when there is none. (An int, not a bool: the includer may have only
 * linux/bpf.h.)
 */
static __always_inline int elapsed(void *map, const void *key, __u64 *delta)
{
	__u64 *start = bpf_map_lookup_elem(map, key);

	if (!start)
		return 0;
	*delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(map, key);
	return 1;
}

static __always_inline __u32 log2_32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/*
 * bcc's bpf_log2l: floor(log2(v)) + 1, and 1 for v = 0. As a histogram slot: slot i
 * counts [2^(i-1), 2^i), and slot 1 counts 0 too.
 */
static __always_inline __u32 log2l(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_32(hi) + 32 + 1 : log2_32(v) + 1;
}

#endif /* BPFSH_MAPS_BPF_H */
