/**
 * The libc symbols bpfsh needs: errno, formatting of libbpf's va_list logs, mmap, epoll,
 * perf_event_open (through syscall), ioctl, close, and the socket calls of socket filters.
 *
 * The library is opened lazily, once, on first use.
 *
 * @module
 */

import { openLazily } from "./lazy.ts";

const symbols = {
  /** int *__errno_location(void); */
  __errno_location: { parameters: [], result: "pointer" },
  /** int vsnprintf(char *str, size_t size, const char *format, va_list ap); */
  vsnprintf: { parameters: ["buffer", "usize", "pointer", "pointer"], result: "i32" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); */
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  /** int munmap(void *addr, size_t length); */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** int dup(int fd); */
  dup: { parameters: ["i32"], result: "i32" },
  /** int epoll_create1(int flags); */
  epoll_create1: { parameters: ["i32"], result: "i32" },
  /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event); */
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout); */
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  /** The same, on a worker thread, so the event loop keeps running while it waits. */
  epoll_wait_async: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** long syscall(long number, ...); used for perf_event_open (5 integer/pointer args). */
  syscall5: {
    name: "syscall",
    parameters: ["i64", "buffer", "i32", "i32", "i32", "u64"],
    result: "i64",
  },
  /** long syscall(SYS_bpf, int cmd, union bpf_attr *attr, unsigned int size); */
  bpf: { name: "syscall", parameters: ["i64", "i64", "buffer", "u64"], result: "i64" },
  /** int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset); */
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int ioctl(int fd, unsigned long request, ...); with an integer argument. */
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  /** long sysconf(int name); */
  sysconf: { parameters: ["i32"], result: "i64" },
  /** unsigned int if_nametoindex(const char *ifname); */
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  /** int eventfd(unsigned int initval, int flags); */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** ssize_t read(int fd, void *buf, size_t count); */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data); */
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  /** int open(const char *pathname, int flags); (no mode: never called with O_CREAT) */
  open: { parameters: ["buffer", "i32"], result: "i32" },
  /** int socket(int domain, int type, int protocol); */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen); */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen); */
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  /** int pipe2(int pipefd[2], int flags); */
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  /** int fcntl(int fd, int cmd, int arg); (integer-argument commands only) */
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * What mapping and waiting on a ring or perf buffer always calls: bound in one go (see
 * ffi/lazy.ts). (Unmapping and closing come later: bound when they happen.)
 */
const STREAM_PATH: readonly (keyof typeof symbols)[] = [
  "sysconf",
  "mmap",
  "epoll_create1",
  "eventfd",
  "epoll_ctl",
  "epoll_wait_async",
  "read",
];

/**
 * What the probe language's direct back end calls before its probes are attached (bpf(2),
 * perf_event_open, close): bound together.
 */
const PROBE_PATH: readonly (keyof typeof symbols)[] = ["bpf", "syscall5", "close"];

/** The libc symbol table type. */
export type LibcSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

let lib: LibcSymbols | undefined;

/**
 * The libc symbols, opened on first use.
 *
 * @returns The frozen symbol table.
 * @example
 * ```ts
 * const fd = libc().epoll_create1(0);
 * ```
 */
export function libc(): LibcSymbols {
  lib ??= openLazily(Deno.env.get("BPFSH_LIBC") ?? "libc.so.6", symbols, "__errno_location", [
    STREAM_PATH,
    PROBE_PATH,
  ]);
  return lib;
}

/**
 * The calling thread's errno, read right after a failed call.
 *
 * @returns The positive errno value.
 * @example
 * ```ts
 * if (libc().close(fd) < 0) console.log(errno());
 * ```
 */
export function errno(): number {
  const p = libc().__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/** mmap protection and flag constants. */
export const PROT_READ = 1;
/** Pages may be written. */
export const PROT_WRITE = 2;
/** Share the mapping with the kernel object. */
export const MAP_SHARED = 1;
/** mmap's failure value, `(void *)-1`. */
export const MAP_FAILED = 0xffffffffffffffffn;

/** epoll constants. */
export const EPOLL_CTL_ADD = 1;
/** Remove an fd from an epoll set. */
export const EPOLL_CTL_DEL = 2;
/** Readable. */
export const EPOLLIN = 1;
/** Close the epoll fd on exec. */
export const EPOLL_CLOEXEC = 0o2000000;
/** eventfd: reads and writes return EAGAIN instead of blocking. */
export const EFD_NONBLOCK = 0o4000;
/** eventfd: close on exec. */
export const EFD_CLOEXEC = 0o2000000;

/** open flags. */
export const O_RDONLY = 0;
/** Reads return EAGAIN instead of blocking. */
export const O_NONBLOCK = 0o4000;
/** Close the fd on exec. */
export const O_CLOEXEC = 0o2000000;
/** Fail unless the path is a directory. */
export const O_DIRECTORY = 0o200000;
/** errno: no data now, try again. */
export const EAGAIN = 11;
/** errno: interrupted by a signal. */
export const EINTR = 4;

/** sysconf name for the page size. */
const SC_PAGESIZE = 30;
/** sysconf name for the number of online CPUs. */
const SC_NPROCESSORS_ONLN = 84;

let pageSizeCache = 0;

/**
 * The system page size in bytes.
 *
 * @returns Usually 4096.
 * @example
 * ```ts
 * const size = pageSize() * 8;
 * ```
 */
export function pageSize(): number {
  pageSizeCache ||= Number(libc().sysconf(SC_PAGESIZE));
  return pageSizeCache;
}

/**
 * The number of online CPUs.
 *
 * @returns The count from sysconf.
 * @example
 * ```ts
 * onlineCpus(); // 2
 * ```
 */
export function onlineCpus(): number {
  return Number(libc().sysconf(SC_NPROCESSORS_ONLN));
}

/**
 * Encode a JavaScript string as a NUL-terminated C string.
 *
 * @param s The string.
 * @returns UTF-8 bytes with a trailing NUL, to pass as a `"buffer"` argument.
 * @example
 * ```ts
 * libc().if_nametoindex(cstr("lo"));
 * ```
 */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/**
 * Read a NUL-terminated C string, or undefined for a NULL pointer.
 *
 * @param p A pointer from a foreign call.
 * @returns The decoded string.
 * @example
 * ```ts
 * readCString(lib.bpf_program__name(prog));
 * ```
 */
export function readCString(p: Deno.PointerValue): string | undefined {
  return p ? Deno.UnsafePointerView.getCString(p) : undefined;
}
