/**
 * The libbpf symbol table (Debian libbpf1 1.1.2 and newer), and the one choke point that
 * turns libbpf results into {@link BpfError}s carrying libbpf's own log.
 *
 * Nothing above `bpf/` sees these pointers: `bpf/` wraps every handle in an object with a
 * lifetime. Set `BPFSH_LIBBPF` to load another build of the library.
 *
 * @module
 */

import { BpfError, hintFor } from "./errors.ts";
import { openLazily } from "./lazy.ts";
import { errno, libc } from "./libc.ts";

const symbols = {
  // --- library ---
  /** const char *libbpf_version_string(void); */
  libbpf_version_string: { parameters: [], result: "pointer" },
  /** libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn); */
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
  /** int libbpf_num_possible_cpus(void); */
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
  /** const char *libbpf_bpf_prog_type_str(enum bpf_prog_type t); */
  libbpf_bpf_prog_type_str: { parameters: ["i32"], result: "pointer" },
  /** const char *libbpf_bpf_map_type_str(enum bpf_map_type t); */
  libbpf_bpf_map_type_str: { parameters: ["i32"], result: "pointer" },
  /** const char *libbpf_bpf_attach_type_str(enum bpf_attach_type t); */
  libbpf_bpf_attach_type_str: { parameters: ["i32"], result: "pointer" },
  /** int libbpf_probe_bpf_prog_type(enum bpf_prog_type prog_type, const void *opts); */
  libbpf_probe_bpf_prog_type: { parameters: ["i32", "pointer"], result: "i32" },
  /** int libbpf_probe_bpf_map_type(enum bpf_map_type map_type, const void *opts); */
  libbpf_probe_bpf_map_type: { parameters: ["i32", "pointer"], result: "i32" },
  /** int libbpf_probe_bpf_helper(enum bpf_prog_type, enum bpf_func_id, const void *opts); */
  libbpf_probe_bpf_helper: { parameters: ["i32", "i32", "pointer"], result: "i32" },

  // --- objects ---
  /** struct bpf_object *bpf_object__open_file(const char *path, const struct bpf_object_open_opts *opts); */
  bpf_object__open_file: { parameters: ["buffer", "buffer"], result: "pointer" },
  /** struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz, const struct bpf_object_open_opts *opts); */
  bpf_object__open_mem: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
  /** int bpf_object__load(struct bpf_object *obj); */
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  /** void bpf_object__close(struct bpf_object *object); */
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  /** const char *bpf_object__name(const struct bpf_object *obj); */
  bpf_object__name: { parameters: ["pointer"], result: "pointer" },
  /** struct btf *bpf_object__btf(const struct bpf_object *obj); */
  bpf_object__btf: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_program *bpf_object__next_program(const struct bpf_object *obj, struct bpf_program *prog); */
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  /** struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map); */
  bpf_object__next_map: { parameters: ["pointer", "pointer"], result: "pointer" },

  // --- BTF ---
  /** const void *btf__raw_data(const struct btf *btf, __u32 *size); */
  btf__raw_data: { parameters: ["pointer", "buffer"], result: "pointer" },

  // --- programs ---
  /** const char *bpf_program__name(const struct bpf_program *prog); */
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  /** const char *bpf_program__section_name(const struct bpf_program *prog); */
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  /** bool bpf_program__autoload(const struct bpf_program *prog); */
  bpf_program__autoload: { parameters: ["pointer"], result: "bool" },
  /** int bpf_program__set_autoload(struct bpf_program *prog, bool autoload); */
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  /** bool bpf_program__autoattach(const struct bpf_program *prog); */
  bpf_program__autoattach: { parameters: ["pointer"], result: "bool" },
  /** int bpf_program__fd(const struct bpf_program *prog); */
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  /** enum bpf_prog_type bpf_program__type(const struct bpf_program *prog); */
  bpf_program__type: { parameters: ["pointer"], result: "i32" },
  /** int bpf_program__set_type(struct bpf_program *prog, enum bpf_prog_type type); */
  bpf_program__set_type: { parameters: ["pointer", "i32"], result: "i32" },
  /** int bpf_program__set_expected_attach_type(struct bpf_program *prog, enum bpf_attach_type type); */
  bpf_program__set_expected_attach_type: { parameters: ["pointer", "i32"], result: "i32" },
  /** enum bpf_attach_type bpf_program__expected_attach_type(const struct bpf_program *prog); */
  bpf_program__expected_attach_type: { parameters: ["pointer"], result: "i32" },
  /** size_t bpf_program__insn_cnt(const struct bpf_program *prog); */
  bpf_program__insn_cnt: { parameters: ["pointer"], result: "usize" },
  /** int bpf_program__pin(struct bpf_program *prog, const char *path); */
  bpf_program__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int bpf_program__unpin(struct bpf_program *prog, const char *path); */
  bpf_program__unpin: { parameters: ["pointer", "buffer"], result: "i32" },
  /** struct bpf_link *bpf_program__attach(const struct bpf_program *prog); */
  bpf_program__attach: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_tracepoint(const struct bpf_program *prog, const char *tp_category, const char *tp_name); */
  bpf_program__attach_tracepoint: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_raw_tracepoint(const struct bpf_program *prog, const char *tp_name); */
  bpf_program__attach_raw_tracepoint: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_trace(const struct bpf_program *prog); */
  bpf_program__attach_trace: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_kprobe(const struct bpf_program *prog, bool retprobe, const char *func_name); */
  bpf_program__attach_kprobe: { parameters: ["pointer", "bool", "buffer"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_kprobe_opts(const struct bpf_program *prog, const char *func_name, const struct bpf_kprobe_opts *opts); */
  bpf_program__attach_kprobe_opts: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_kprobe_multi_opts(const struct bpf_program *prog, const char *pattern, const struct bpf_kprobe_multi_opts *opts); */
  bpf_program__attach_kprobe_multi_opts: {
    parameters: ["pointer", "buffer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_uprobe_opts(const struct bpf_program *prog, pid_t pid, const char *binary_path, size_t func_offset, const struct bpf_uprobe_opts *opts); */
  bpf_program__attach_uprobe_opts: {
    parameters: ["pointer", "i32", "buffer", "usize", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_usdt(const struct bpf_program *prog, pid_t pid, const char *binary_path, const char *usdt_provider, const char *usdt_name, const struct bpf_usdt_opts *opts); */
  bpf_program__attach_usdt: {
    parameters: ["pointer", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_perf_event(const struct bpf_program *prog, int pfd); */
  bpf_program__attach_perf_event: { parameters: ["pointer", "i32"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_perf_event_opts(const struct bpf_program *prog, int pfd, const struct bpf_perf_event_opts *opts); */
  bpf_program__attach_perf_event_opts: {
    parameters: ["pointer", "i32", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_tracepoint_opts(const struct bpf_program *prog, const char *tp_category, const char *tp_name, const struct bpf_tracepoint_opts *opts); */
  bpf_program__attach_tracepoint_opts: {
    parameters: ["pointer", "buffer", "buffer", "buffer"],
    result: "pointer",
  },
  /** struct bpf_link *bpf_program__attach_xdp(const struct bpf_program *prog, int ifindex); */
  bpf_program__attach_xdp: { parameters: ["pointer", "i32"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_cgroup(const struct bpf_program *prog, int cgroup_fd); */
  bpf_program__attach_cgroup: { parameters: ["pointer", "i32"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_lsm(const struct bpf_program *prog); */
  bpf_program__attach_lsm: { parameters: ["pointer"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_netns(const struct bpf_program *prog, int netns_fd); */
  bpf_program__attach_netns: { parameters: ["pointer", "i32"], result: "pointer" },
  /** struct bpf_link *bpf_program__attach_iter(const struct bpf_program *prog, const struct bpf_iter_attach_opts *opts); */
  bpf_program__attach_iter: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** int bpf_program__set_attach_target(struct bpf_program *prog, int attach_prog_fd, const char *attach_func_name); */
  bpf_program__set_attach_target: { parameters: ["pointer", "i32", "buffer"], result: "i32" },

  // --- links ---
  /** int bpf_link__fd(const struct bpf_link *link); */
  bpf_link__fd: { parameters: ["pointer"], result: "i32" },
  /** int bpf_link__pin(struct bpf_link *link, const char *path); */
  bpf_link__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int bpf_link__destroy(struct bpf_link *link); */
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  /** int bpf_iter_create(int link_fd); */
  bpf_iter_create: { parameters: ["i32"], result: "i32" },

  // --- maps (object level) ---
  /** const char *bpf_map__name(const struct bpf_map *map); */
  bpf_map__name: { parameters: ["pointer"], result: "pointer" },
  /** int bpf_map__fd(const struct bpf_map *map); */
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  /** enum bpf_map_type bpf_map__type(const struct bpf_map *map); */
  bpf_map__type: { parameters: ["pointer"], result: "i32" },
  /** __u32 bpf_map__max_entries(const struct bpf_map *map); */
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  /** int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries); */
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  /** __u32 bpf_map__map_flags(const struct bpf_map *map); */
  bpf_map__map_flags: { parameters: ["pointer"], result: "u32" },
  /** __u32 bpf_map__key_size(const struct bpf_map *map); */
  bpf_map__key_size: { parameters: ["pointer"], result: "u32" },
  /** __u32 bpf_map__value_size(const struct bpf_map *map); */
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  /** __u32 bpf_map__btf_key_type_id(const struct bpf_map *map); */
  bpf_map__btf_key_type_id: { parameters: ["pointer"], result: "u32" },
  /** __u32 bpf_map__btf_value_type_id(const struct bpf_map *map); */
  bpf_map__btf_value_type_id: { parameters: ["pointer"], result: "u32" },
  /** const void *bpf_map__initial_value(struct bpf_map *map, size_t *psize); */
  bpf_map__initial_value: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** bool bpf_map__is_internal(const struct bpf_map *map); */
  bpf_map__is_internal: { parameters: ["pointer"], result: "bool" },
  /** int bpf_map__pin(struct bpf_map *map, const char *path); */
  bpf_map__pin: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int bpf_map__unpin(struct bpf_map *map, const char *path); */
  bpf_map__unpin: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int bpf_map__set_autocreate(struct bpf_map *map, bool autocreate); */
  bpf_map__set_autocreate: { parameters: ["pointer", "bool"], result: "i32" },

  // --- syscall wrappers (bpf.h) ---
  /** int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, __u64 flags); */
  bpf_map_lookup_elem_flags: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  /** int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags); */
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  /** int bpf_map_delete_elem(int fd, const void *key); */
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  /** int bpf_map_get_next_key(int fd, const void *key, void *next_key); */
  bpf_map_get_next_key: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, __u32 *count, const struct bpf_map_batch_opts *opts); */
  bpf_map_lookup_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  /** int bpf_map_freeze(int fd); */
  bpf_map_freeze: { parameters: ["i32"], result: "i32" },
  /** int bpf_obj_pin(int fd, const char *pathname); */
  bpf_obj_pin: { parameters: ["i32", "buffer"], result: "i32" },
  /** int bpf_obj_get(const char *pathname); */
  bpf_obj_get: { parameters: ["buffer"], result: "i32" },
  /** int bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len); */
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts); */
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
  /** int bpf_btf_get_fd_by_id(__u32 id); */
  bpf_btf_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  /** struct btf *btf__load_from_kernel_by_id(__u32 id); */
  btf__load_from_kernel_by_id: { parameters: ["u32"], result: "pointer" },
  /** void btf__free(struct btf *btf); */
  btf__free: { parameters: ["pointer"], result: "void" },
  /** struct btf *btf__load_vmlinux_btf(void); */
  btf__load_vmlinux_btf: { parameters: [], result: "pointer" },
  /** __s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind); */
  btf__find_by_name_kind: { parameters: ["pointer", "buffer", "u32"], result: "i32" },

  // --- programs and links without an object (the doctor's probes) ---
  /** int bpf_prog_load(enum bpf_prog_type prog_type, const char *prog_name, const char *license, const struct bpf_insn *insns, size_t insn_cnt, struct bpf_prog_load_opts *opts); */
  bpf_prog_load: {
    parameters: ["i32", "buffer", "buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
  /** int bpf_raw_tracepoint_open(const char *name, int prog_fd); */
  bpf_raw_tracepoint_open: { parameters: ["buffer", "i32"], result: "i32" },
  /** int bpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type attach_type, const struct bpf_link_create_opts *opts); */
  bpf_link_create: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },

  // --- tc (netlink) ---
  /** int bpf_tc_hook_create(struct bpf_tc_hook *hook); */
  bpf_tc_hook_create: { parameters: ["buffer"], result: "i32" },
  /** int bpf_tc_hook_destroy(struct bpf_tc_hook *hook); */
  bpf_tc_hook_destroy: { parameters: ["buffer"], result: "i32" },
  /** int bpf_tc_attach(const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts); */
  bpf_tc_attach: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int bpf_tc_detach(const struct bpf_tc_hook *hook, const struct bpf_tc_opts *opts); */
  bpf_tc_detach: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int bpf_tc_query(const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts); */
  bpf_tc_query: { parameters: ["buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * What opening, loading and attaching an object and finding its maps always calls: bound in
 * one go on the first of them (see ffi/lazy.ts), sooner than one by one (bench/NOTES.md).
 * (Closing comes later: its symbols are bound when it happens.)
 */
const LOAD_PATH: readonly (keyof typeof symbols)[] = [
  "bpf_object__open_mem",
  "bpf_object__next_program",
  "bpf_object__next_map",
  "bpf_object__load",
  "bpf_object__btf",
  "btf__raw_data",
  "bpf_program__name",
  "bpf_program__section_name",
  "bpf_program__fd",
  "bpf_program__type",
  "bpf_program__autoattach",
  "bpf_program__attach",
  "libbpf_bpf_prog_type_str",
  "bpf_link__fd",
  "bpf_map__name",
  "bpf_map__fd",
  "bpf_map__type",
  "bpf_map__key_size",
  "bpf_map__value_size",
  "bpf_map__max_entries",
  "bpf_map__map_flags",
  "bpf_map__btf_key_type_id",
  "bpf_map__btf_value_type_id",
  "libbpf_bpf_map_type_str",
];

/** The libbpf symbol table type. */
export type LibbpfSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

let lib: LibbpfSymbols | undefined;

/**
 * The libbpf symbols, opened on first use (with libbpf's log captured).
 *
 * @returns The frozen symbol table.
 * @example
 * ```ts
 * const cpus = libbpf().libbpf_num_possible_cpus();
 * ```
 */
export function libbpf(): LibbpfSymbols {
  if (!lib) {
    const path = Deno.env.get("BPFSH_LIBBPF") ?? "libbpf.so.1";
    try {
      lib = openLazily(path, symbols, "libbpf_set_print", [LOAD_PATH]);
    } catch (e) {
      throw new BpfError({
        op: "open libbpf",
        message: `cannot load '${path}': ${(e as Error).message}`,
        hint: "install libbpf1 (apt-get install libbpf1) or run the set-up: ./bpfsh setup",
      });
    }
    installLogCapture(lib);
  }
  return lib;
}

// ---------------------------------------------------------------------------
// libbpf's log. Its print callback hands over a va_list; on x86-64 and arm64 a va_list
// parameter is passed as a pointer, which libc's vsnprintf accepts as is.

const LOG_LINE_MAX = 8192;
const logLines: string[] = [];
const logBuffer = new Uint8Array(LOG_LINE_MAX);
const LIBBPF_DEBUG = 2;
const PRINT_FN = { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const;
/** Kept reachable so the callback is never collected while libbpf holds it. */
const liveCallbacks: Deno.UnsafeCallback<typeof PRINT_FN>[] = [];

function installLogCapture(sym: LibbpfSymbols): void {
  const debug = Deno.env.get("BPFSH_DEBUG") === "libbpf";
  const callback = new Deno.UnsafeCallback(
    PRINT_FN,
    (level, fmt, args) => {
      if (!fmt || (level >= LIBBPF_DEBUG && !debug)) return 0;
      const n = libc().vsnprintf(logBuffer, BigInt(LOG_LINE_MAX), fmt, args);
      if (n <= 0) return 0;
      const text = new TextDecoder().decode(logBuffer.subarray(0, Math.min(n, LOG_LINE_MAX - 1)));
      if (debug) Deno.stderr.writeSync(new TextEncoder().encode(text));
      logLines.push(text);
      // Bound memory if nobody drains the log (a long session with many warnings).
      if (logLines.length > 20000) logLines.splice(0, logLines.length - 10000);
      return n;
    },
  );
  callback.unref();
  sym.libbpf_set_print(callback.pointer);
  liveCallbacks.push(callback);
}

/**
 * Run a libbpf call and collect what libbpf logged while it ran.
 *
 * @param fn The call.
 * @returns The call's result and the log text.
 * @example
 * ```ts
 * const { result, log, errno } = withLog(() => libbpf().bpf_object__load(obj));
 * ```
 */
export function withLog<T>(fn: () => T): { result: T; log: string; errno: number } {
  libbpf();
  logLines.length = 0;
  const result = fn();
  // Read errno before anything else can overwrite it.
  const code = errno();
  const log = logLines.join("");
  logLines.length = 0;
  return { result, log, errno: code };
}

// ---------------------------------------------------------------------------
// The choke point: every libbpf result passes through check() or checkPtr().

/** What a failed call is described with. */
export interface CallContext {
  /** The operation, e.g. `"map update 'counts'"`. */
  op: string;
  /** Extra words for the message. */
  message?: string;
  /** A hint that overrides the errno's default hint. */
  hint?: string;
  /** libbpf's log of the call. */
  log?: string;
  /** errno as read right after the call (see withLog); else errno is read now. */
  errno?: number;
}

/**
 * Throw a {@link BpfError} when a libbpf integer result is a negative errno.
 *
 * @param ret The returned value (libbpf 1.x returns `-errno`).
 * @param ctx The operation's description.
 * @returns `ret` when it is not an error.
 * @example
 * ```ts
 * check(libbpf().bpf_map_delete_elem(fd, key), { op: "map delete 'counts'" });
 * ```
 */
export function check(ret: number, ctx: CallContext): number {
  if (ret >= 0) return ret;
  // Some wrappers return -1 and leave the code in errno.
  const code = ret === -1 ? errno() || 1 : -ret;
  throw errorFor(code, ctx);
}

/**
 * Throw a {@link BpfError} when a libbpf pointer result is NULL, reading errno.
 *
 * @param ptr The returned pointer.
 * @param ctx The operation's description.
 * @returns The non-null pointer.
 * @example
 * ```ts
 * const link = checkPtr(libbpf().bpf_program__attach(prog), { op: "attach" });
 * ```
 */
export function checkPtr(ptr: Deno.PointerValue, ctx: CallContext): Deno.PointerObject {
  if (ptr) return ptr;
  throw errorFor(ctx.errno || errno() || 22, ctx);
}

/**
 * Build the error for an errno and a call context.
 *
 * @param code A positive errno.
 * @param ctx The operation's description.
 * @returns The error to throw.
 * @example
 * ```ts
 * throw errorFor(2, { op: "map lookup" });
 * ```
 */
export function errorFor(code: number, ctx: CallContext): BpfError {
  return new BpfError({
    op: ctx.op,
    errno: code,
    message: ctx.message,
    hint: ctx.hint ?? hintFor(ctx.op, code),
    log: ctx.log || undefined,
  });
}

/**
 * The libbpf version string, e.g. `"v1.1"`.
 *
 * @returns The version the loaded library reports.
 * @example
 * ```ts
 * console.log(libbpfVersion());
 * ```
 */
export function libbpfVersion(): string {
  return Deno.UnsafePointerView.getCString(libbpf().libbpf_version_string()!);
}

/**
 * Name a program, map or attach type the way libbpf does (e.g. `"tracepoint"`, `"hash"`).
 *
 * @param kind Which enum.
 * @param value The enum value.
 * @returns The name, or `"unknown(N)"`.
 * @example
 * ```ts
 * typeName("map", 1); // "hash"
 * ```
 */
export function typeName(kind: "prog" | "map" | "attach", value: number): string {
  const sym = libbpf();
  const p = kind === "prog"
    ? sym.libbpf_bpf_prog_type_str(value)
    : kind === "map"
    ? sym.libbpf_bpf_map_type_str(value)
    : sym.libbpf_bpf_attach_type_str(value);
  return p ? Deno.UnsafePointerView.getCString(p) : `unknown(${value})`;
}
