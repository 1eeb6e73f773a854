/**
 * The kernel and libbpf ABI bpfsh writes or reads by hand, in one place: struct layouts
 * (libbpf 1.1's option structs, bpf_map_info, epoll_event, perf_event_attr, the perf and
 * ring buffer pages), enum values and errnos. Every layout names its C struct; offsets are
 * for x86-64 and aarch64 (LP64, little-endian), the architectures bpfsh runs on.
 *
 * @module
 */

/** A field's C type: its width, and how a value is written. */
type FieldType = "u8" | "u16" | "u32" | "i32" | "u64" | "ptr";

/** One field: its byte offset and type. */
interface Field {
  offset: number;
  type: FieldType;
}

/** What a pointer field accepts: bytes whose address is taken, an address, or null. */
export type PointerInput = Uint8Array | bigint | null;

/**
 * A C struct laid out by hand: allocation (with libbpf's leading `size_t sz` set when the
 * struct has one), and typed field access by name.
 *
 * @example
 * ```ts
 * const opts = BPF_TC_OPTS.alloc();
 * BPF_TC_OPTS.set(opts, "prog_fd", 7);
 * BPF_TC_OPTS.get(opts, "handle"); // 0
 * ```
 */
export class Struct<F extends string> {
  /** sizeof the struct. */
  readonly size: number;
  /** Whether the first field is libbpf's `size_t sz` (set to `size` by alloc()). */
  readonly sized: boolean;
  readonly #fields: Record<F, Field>;

  /**
   * @param size sizeof the struct.
   * @param fields Field offsets and types.
   * @param sized Whether it starts with libbpf's `size_t sz`.
   */
  constructor(size: number, fields: Record<F, [number, FieldType]>, sized: boolean) {
    this.size = size;
    this.sized = sized;
    this.#fields = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => {
        const [offset, type] = v as [number, FieldType];
        return [k, { offset, type }];
      }),
    ) as Record<F, Field>;
  }

  /**
   * A zeroed struct (with `sz` set when it has one).
   *
   * @returns The bytes.
   * @example
   * ```ts
   * BPF_UPROBE_OPTS.alloc().length; // 40
   * ```
   */
  alloc(): Uint8Array<ArrayBuffer> {
    const buf = new Uint8Array(this.size);
    if (this.sized) new DataView(buf.buffer).setBigUint64(0, BigInt(this.size), true);
    return buf;
  }

  /**
   * Write a field.
   *
   * @param buf The struct's bytes.
   * @param field The field's name.
   * @param value A number or bigint; for pointers, bytes (their address), an address or null.
   * @example
   * ```ts
   * BPF_TC_HOOK.set(hook, "ifindex", 1);
   * ```
   */
  set(buf: Uint8Array, field: F, value: number | bigint | boolean | PointerInput): void {
    const { offset, type } = this.#fields[field];
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    switch (type) {
      case "u8":
        v.setUint8(offset, Number(value));
        break;
      case "u16":
        v.setUint16(offset, Number(value), true);
        break;
      case "u32":
        v.setUint32(offset, Number(value), true);
        break;
      case "i32":
        v.setInt32(offset, Number(value), true);
        break;
      case "u64":
        v.setBigUint64(offset, BigInt.asUintN(64, BigInt(value as number | bigint)), true);
        break;
      case "ptr":
        v.setBigUint64(offset, addressOf(value as PointerInput), true);
        break;
    }
  }

  /**
   * Read a field.
   *
   * @param buf The struct's bytes.
   * @param field The field's name.
   * @returns Its value (u64 and pointers as bigint).
   * @example
   * ```ts
   * BPF_TEST_RUN_OPTS.get(opts, "retval");
   * ```
   */
  get(buf: Uint8Array, field: F): number | bigint {
    const { offset, type } = this.#fields[field];
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    switch (type) {
      case "u8":
        return v.getUint8(offset);
      case "u16":
        return v.getUint16(offset, true);
      case "u32":
        return v.getUint32(offset, true);
      case "i32":
        return v.getInt32(offset, true);
      case "u64":
      case "ptr":
        return v.getBigUint64(offset, true);
    }
  }

  /**
   * A field's byte offset, for code that reads the struct in a hot loop.
   *
   * @param field The field's name.
   * @returns The offset.
   * @example
   * ```ts
   * PERF_EVENT_MMAP_PAGE.offsetOf("data_head"); // 1024
   * ```
   */
  offsetOf(field: F): number {
    return this.#fields[field].offset;
  }
}

/**
 * The address of bytes handed to C (their memory must stay alive for as long as C reads it).
 *
 * @param p Bytes, an address, or null (0).
 * @returns The address.
 * @example
 * ```ts
 * addressOf(new Uint8Array(8)) > 0n; // true
 * ```
 */
export function addressOf(p: PointerInput): bigint {
  if (p === null) return 0n;
  if (typeof p === "bigint") return p;
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(p)));
}

// --- libbpf 1.1 option structs (each starts with `size_t sz`) ---

/**
 * `struct bpf_object_open_opts`: sz, object_name, relaxed_maps, pin_root_path, (a u32 hole),
 * kconfig, btf_custom_path.
 */
export const BPF_OBJECT_OPEN_OPTS = new Struct(56, {
  object_name: [8, "ptr"],
  relaxed_maps: [16, "u8"],
  pin_root_path: [24, "ptr"],
  kconfig: [40, "ptr"],
  btf_custom_path: [48, "ptr"],
}, true);

/** `struct bpf_uprobe_opts`: sz, ref_ctr_offset, bpf_cookie, retprobe, func_name. */
export const BPF_UPROBE_OPTS = new Struct(40, {
  ref_ctr_offset: [8, "u64"],
  bpf_cookie: [16, "u64"],
  retprobe: [24, "u8"],
  func_name: [32, "ptr"],
}, true);

/** `struct bpf_kprobe_opts`: sz, bpf_cookie, offset, retprobe. */
export const BPF_KPROBE_OPTS = new Struct(32, {
  bpf_cookie: [8, "u64"],
  offset: [16, "u64"],
  retprobe: [24, "u8"],
}, true);

/** `struct bpf_kprobe_multi_opts`: sz, syms, addrs, cookies, cnt, retprobe. */
export const BPF_KPROBE_MULTI_OPTS = new Struct(48, {
  syms: [8, "ptr"],
  addrs: [16, "ptr"],
  cookies: [24, "ptr"],
  cnt: [32, "u64"],
  retprobe: [40, "u8"],
}, true);

/** `struct bpf_usdt_opts`: sz, usdt_cookie. */
export const BPF_USDT_OPTS = new Struct(16, { usdt_cookie: [8, "u64"] }, true);

/** `struct bpf_iter_attach_opts`: sz, link_info, link_info_len. */
export const BPF_ITER_ATTACH_OPTS = new Struct(24, {
  link_info: [8, "ptr"],
  link_info_len: [16, "u32"],
}, true);

/** `union bpf_iter_link_info` (16 bytes): the map variant's map_fd, or the task variant. */
export const BPF_ITER_LINK_INFO = new Struct(16, {
  map_fd: [0, "u32"],
  task_tid: [0, "u32"],
  task_pid: [4, "u32"],
}, false);

/** `struct bpf_tracepoint_opts`: sz, bpf_cookie. */
export const BPF_TRACEPOINT_OPTS = new Struct(16, { bpf_cookie: [8, "u64"] }, true);

/** `struct bpf_perf_event_opts`: sz, bpf_cookie. */
export const BPF_PERF_EVENT_OPTS = new Struct(16, { bpf_cookie: [8, "u64"] }, true);

/** `struct bpf_test_run_opts`. */
export const BPF_TEST_RUN_OPTS = new Struct(80, {
  data_in: [8, "ptr"],
  data_out: [16, "ptr"],
  data_size_in: [24, "u32"],
  data_size_out: [28, "u32"],
  ctx_in: [32, "ptr"],
  ctx_out: [40, "ptr"],
  ctx_size_in: [48, "u32"],
  ctx_size_out: [52, "u32"],
  retval: [56, "u32"],
  repeat: [60, "i32"],
  duration: [64, "u32"],
  flags: [68, "u32"],
  cpu: [72, "u32"],
  batch_size: [76, "u32"],
}, true);

/** `struct bpf_tc_hook`: sz, ifindex, attach_point, parent. */
export const BPF_TC_HOOK = new Struct(24, {
  ifindex: [8, "i32"],
  attach_point: [12, "u32"],
  parent: [16, "u32"],
}, true);

/** `struct bpf_tc_opts`: sz, prog_fd, flags, prog_id, handle, priority. */
export const BPF_TC_OPTS = new Struct(32, {
  prog_fd: [8, "i32"],
  flags: [12, "u32"],
  prog_id: [16, "u32"],
  handle: [20, "u32"],
  priority: [24, "u32"],
}, true);

/** `enum bpf_tc_attach_point`. */
export const BPF_TC = { INGRESS: 1, EGRESS: 2, CUSTOM: 4 } as const;

/**
 * The clsact qdisc's filter parents, `TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS|EGRESS)`, as
 * netlink's `tcmsg.tcm_parent` names them.
 */
export const TC_PARENT = { INGRESS: 0xfffffff2, EGRESS: 0xfffffff3 } as const;

// --- rtnetlink (the filter dump of tc hooks) ---

/** `struct nlmsghdr`: len, type, flags, seq, pid. */
export const NLMSGHDR = new Struct(16, {
  len: [0, "u32"],
  type: [4, "u16"],
  flags: [6, "u16"],
  seq: [8, "u32"],
  pid: [12, "u32"],
}, false);

/** `struct tcmsg`: family, (pads), ifindex, handle, parent, info. */
export const TCMSG = new Struct(20, {
  family: [0, "u8"],
  ifindex: [4, "i32"],
  handle: [8, "u32"],
  parent: [12, "u32"],
  info: [16, "u32"],
}, false);

/** Netlink constants: the family and protocol, message types and flags bpfsh uses. */
export const NETLINK = {
  AF_NETLINK: 16,
  NETLINK_ROUTE: 0,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  RTM_NEWTFILTER: 44,
  RTM_GETTFILTER: 46,
  NLM_F_REQUEST: 0x1,
  NLM_F_DUMP: 0x300,
} as const;

/** File-descriptor flags: `O_CLOEXEC` (pipe2, socket's `SOCK_CLOEXEC`), `F_SETFD`. */
export const FD_FLAGS = { O_CLOEXEC: 0o2000000, F_SETFD: 2, FD_CLOEXEC: 1 } as const;

/**
 * `struct bpf_prog_load_opts`: sz, attempts, expected_attach_type, prog_btf_fd, prog_flags,
 * prog_ifindex, kern_version, attach_btf_id, attach_prog_fd, attach_btf_obj_fd, fd_array,
 * func_info and line_info (pointer, count, record size), log_level, log_size, log_buf.
 */
export const BPF_PROG_LOAD_OPTS = new Struct(104, {
  expected_attach_type: [12, "u32"],
  attach_btf_id: [32, "u32"],
  attach_btf_obj_fd: [40, "u32"],
}, true);

/**
 * `struct bpf_link_create_opts`: sz, flags, iter_info, iter_info_len, target_btf_id, then a
 * union whose kprobe_multi member is flags, cnt, syms, addrs, cookies.
 */
export const BPF_LINK_CREATE_OPTS = new Struct(64, {
  flags: [8, "u32"],
  iter_info: [16, "ptr"],
  iter_info_len: [24, "u32"],
  target_btf_id: [28, "u32"],
  kprobe_multi_flags: [32, "u32"],
  kprobe_multi_cnt: [36, "u32"],
  kprobe_multi_syms: [40, "ptr"],
  kprobe_multi_addrs: [48, "ptr"],
  kprobe_multi_cookies: [56, "ptr"],
}, true);

// --- union bpf_attr, for the bpf(2) commands of ffi/bpf_syscall.ts ---

/** `BPF_MAP_CREATE`'s part of `union bpf_attr`. */
export const BPF_ATTR_MAP_CREATE = new Struct(72, {
  map_type: [0, "u32"],
  key_size: [4, "u32"],
  value_size: [8, "u32"],
  max_entries: [12, "u32"],
  map_flags: [16, "u32"],
}, false);

/** `BPF_PROG_LOAD`'s part of `union bpf_attr` (up to expected_attach_type). */
export const BPF_ATTR_PROG_LOAD = new Struct(72, {
  prog_type: [0, "u32"],
  insn_cnt: [4, "u32"],
  insns: [8, "ptr"],
  license: [16, "ptr"],
  log_level: [24, "u32"],
  log_size: [28, "u32"],
  log_buf: [32, "ptr"],
  expected_attach_type: [68, "u32"],
}, false);

/** `BPF_LINK_CREATE`'s part of `union bpf_attr`, with the perf_event member. */
export const BPF_ATTR_LINK_CREATE = new Struct(24, {
  prog_fd: [0, "u32"],
  target_fd: [4, "u32"],
  attach_type: [8, "u32"],
  flags: [12, "u32"],
  perf_event_bpf_cookie: [16, "u64"],
}, false);

/** `BPF_PROG_TEST_RUN`'s part of `union bpf_attr`. */
export const BPF_ATTR_TEST_RUN = new Struct(80, {
  prog_fd: [0, "u32"],
  retval: [4, "u32"],
  ctx_size_in: [40, "u32"],
  ctx_in: [48, "ptr"],
}, false);

/** `BPF_RAW_TRACEPOINT_OPEN`'s part of `union bpf_attr`. */
export const BPF_ATTR_RAW_TP_OPEN = new Struct(16, {
  name: [0, "ptr"],
  prog_fd: [8, "u32"],
}, false);

/** `enum bpf_cmd` values bpfsh issues itself. */
export const BPF_CMD = {
  MAP_CREATE: 0,
  PROG_LOAD: 5,
  PROG_TEST_RUN: 10,
  RAW_TRACEPOINT_OPEN: 17,
  LINK_CREATE: 28,
} as const;

// --- Kernel structs ---

/** `struct bpf_map_info` (the part bpfsh reads; the kernel fills what fits). */
export const BPF_MAP_INFO = new Struct(88, {
  type: [0, "u32"],
  id: [4, "u32"],
  key_size: [8, "u32"],
  value_size: [12, "u32"],
  max_entries: [16, "u32"],
  map_flags: [20, "u32"],
  name: [24, "u8"], // char name[16]
  ifindex: [40, "u32"],
  btf_id: [64, "u32"],
  btf_key_type_id: [68, "u32"],
  btf_value_type_id: [72, "u32"],
}, false);

/** `struct sockaddr_ll` (AF_PACKET): family, protocol (network order), ifindex, … */
export const SOCKADDR_LL = new Struct(20, {
  sll_family: [0, "u16"],
  sll_protocol: [2, "u16"],
  sll_ifindex: [4, "i32"],
}, false);

/** Socket constants of socket filters (x86-64 and aarch64 share them). */
export const SOCKET = {
  AF_PACKET: 17,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  /** ETH_P_ALL in network byte order, as socket() and sockaddr_ll want it. */
  ETH_P_ALL_BE: 0x0300,
  SOL_SOCKET: 1,
  SO_ATTACH_BPF: 50,
  SO_DETACH_BPF: 27,
} as const;

/** BPF_OBJ_NAME_LEN: map and program names, NUL included. */
export const BPF_OBJ_NAME_LEN = 16;

/** `struct epoll_event`, packed on x86-64: u32 events, u64 data. */
export const EPOLL_EVENT = new Struct(12, {
  events: [0, "u32"],
  data: [4, "u64"],
}, false);

/** `struct perf_event_attr` (PERF_ATTR_SIZE_VER7 and up: 128 bytes are accepted). */
export const PERF_EVENT_ATTR = new Struct(128, {
  type: [0, "u32"],
  size: [4, "u32"],
  config: [8, "u64"],
  sample_period: [16, "u64"], // or sample_freq, with the freq flag
  sample_type: [24, "u64"],
  read_format: [32, "u64"],
  flags: [40, "u64"], // disabled:1, inherit:1, … freq:1 (bit 10), … watermark:1 (bit 14)
  wakeup_events: [48, "u32"], // or wakeup_watermark, with the watermark flag
  config1: [56, "ptr"], // kprobe_func / uprobe_path, or an extra config word
  config2: [64, "u64"], // probe_offset
}, false);

/** Bits of perf_event_attr's flags word. */
export const PERF_ATTR_FLAG = { DISABLED: 1n, FREQ: 1n << 10n, WATERMARK: 1n << 14n } as const;

/** `struct perf_event_mmap_page`: where the ring's head and tail live. */
export const PERF_EVENT_MMAP_PAGE = new Struct(1040, {
  data_head: [1024, "u64"],
  data_tail: [1032, "u64"],
}, false);

/** `struct perf_event_header` types bpfsh reads. */
export const PERF_RECORD = { LOST: 2, SAMPLE: 9 } as const;

/** BPF ring buffer record header bits (`BPF_RINGBUF_BUSY_BIT`, `_DISCARD_BIT`). */
export const BPF_RINGBUF = {
  BUSY_BIT: 0x80000000 | 0,
  DISCARD_BIT: 0x40000000,
  LENGTH_MASK: 0x3fffffff,
  HDR_SZ: 8,
} as const;

// --- Enums ---

/** `enum bpf_map_type`. */
export const MAP_TYPE = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
} as const;

/** `enum bpf_prog_type` (the types bpfsh creates without an object). */
export const PROG_TYPE = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  RAW_TRACEPOINT: 17,
  TRACING: 26,
  LSM: 29,
} as const;

/** `enum bpf_attach_type` (the ones bpfsh loads or links programs with by hand). */
export const ATTACH_TYPE = {
  TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24,
  TRACE_FEXIT: 25,
  MODIFY_RETURN: 26,
  LSM_MAC: 27,
  TRACE_ITER: 28,
  XDP: 37,
  PERF_EVENT: 41,
  TRACE_KPROBE_MULTI: 42,
  /** tcx links (kernel 6.6+): `BPF_TCX_INGRESS`, `BPF_TCX_EGRESS`. */
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
} as const;

/** `BTF_KIND_*` values looked up by name in the kernel's BTF. */
export const BTF_KIND = { TYPEDEF: 8, FUNC: 12 } as const;

/** Map types whose values are one per possible CPU. */
export const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([
  MAP_TYPE.PERCPU_HASH,
  MAP_TYPE.PERCPU_ARRAY,
  MAP_TYPE.LRU_PERCPU_HASH,
  MAP_TYPE.PERCPU_CGROUP_STORAGE,
]);

/** Map types that BPF_MAP_LOOKUP_BATCH reads. */
export const BATCH_MAP_TYPES: ReadonlySet<number> = new Set([
  MAP_TYPE.HASH,
  MAP_TYPE.ARRAY,
  MAP_TYPE.PERCPU_HASH,
  MAP_TYPE.PERCPU_ARRAY,
  MAP_TYPE.LRU_HASH,
  MAP_TYPE.LRU_PERCPU_HASH,
]);

/** Map types indexed 0..max_entries-1, whose entries always exist. */
export const ARRAY_MAP_TYPES: ReadonlySet<number> = new Set([
  MAP_TYPE.ARRAY,
  MAP_TYPE.PERCPU_ARRAY,
]);

/** `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`: map update flags. */
export const BPF_UPDATE = { ANY: 0n, NOEXIST: 1n, EXIST: 2n } as const;

// --- errno values (Linux) ---

/** The errnos bpfsh tests for by name. ENOTSUPP (524) is the kernel-internal one. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EPIPE: 32,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ELOOP: 40,
  EILSEQ: 84,
  ENOTSOCK: 88,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
} as const;
