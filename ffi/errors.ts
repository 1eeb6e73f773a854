/**
 * The one error type of bpfsh, and the errno names and hints that make it readable.
 *
 * Every failure that reaches a user (a libbpf call, a syscall, a bad argument, a compile)
 * is a {@link BpfError}: it names the operation, keeps the errno matchable as a symbolic
 * code, adds a hint for known causes and, for loads, carries the whole verifier log.
 *
 * @module
 */

/** Linux errno numbers (x86-64/generic) to their symbolic names. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  7: "E2BIG",
  8: "ENOEXEC",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  34: "ERANGE",
  38: "ENOSYS",
  61: "ENODATA",
  75: "EOVERFLOW",
  84: "EILSEQ",
  88: "ENOTSOCK",
  90: "EMSGSIZE",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  114: "EALREADY",
  4007: "LIBBPF_ERRNO__FORMAT",
  4008: "LIBBPF_ERRNO__KVERSION",
  4009: "LIBBPF_ERRNO__ENDIAN",
  4010: "LIBBPF_ERRNO__INTERNAL",
  4011: "LIBBPF_ERRNO__RELOC",
  4012: "LIBBPF_ERRNO__LOAD",
  4013: "LIBBPF_ERRNO__VERIFY",
  4014: "LIBBPF_ERRNO__PROG2BIG",
  4015: "LIBBPF_ERRNO__KVER",
  4016: "LIBBPF_ERRNO__PROGTYPE",
  4017: "LIBBPF_ERRNO__WRNGPID",
  4018: "LIBBPF_ERRNO__INVSEQ",
  4019: "LIBBPF_ERRNO__NLSE",
  524: "ENOTSUPP",
};

/** Short human descriptions, so a message never shows an errno number alone. */
const ERRNO_TEXT: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file, entry or object",
  ESRCH: "no such process",
  EINTR: "interrupted",
  EIO: "I/O error",
  ENXIO: "no such device or address",
  E2BIG: "argument list too long",
  ENOEXEC: "exec format error",
  EBADF: "bad file descriptor",
  EAGAIN: "try again",
  ENOMEM: "out of memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "device or resource busy",
  EEXIST: "already exists",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  EMFILE: "too many open files",
  ENOSPC: "no space left (map full?)",
  ERANGE: "result out of range",
  ENOSYS: "function not implemented",
  ENODATA: "no data",
  EOVERFLOW: "value too large",
  EILSEQ: "illegal byte sequence (malformed BTF or ELF?)",
  ENOTSOCK: "not a socket",
  EMSGSIZE: "message too long",
  EPROTONOSUPPORT: "protocol not supported",
  EOPNOTSUPP: "operation not supported",
  ENOTSUPP: "operation not supported by this kernel",
  ETIMEDOUT: "timed out",
  EALREADY: "already in progress",
  LIBBPF_ERRNO__FORMAT: "invalid ELF format",
  LIBBPF_ERRNO__KVERSION: "kernel version section missing or wrong",
  LIBBPF_ERRNO__ENDIAN: "object endianness does not match the host",
  LIBBPF_ERRNO__INTERNAL: "libbpf internal error",
  LIBBPF_ERRNO__RELOC: "relocation failed",
  LIBBPF_ERRNO__LOAD: "program load failed",
  LIBBPF_ERRNO__VERIFY: "rejected by the kernel verifier",
  LIBBPF_ERRNO__PROG2BIG: "program too big",
  LIBBPF_ERRNO__KVER: "incorrect kernel version",
  LIBBPF_ERRNO__PROGTYPE: "kernel does not support this program type",
  LIBBPF_ERRNO__WRNGPID: "wrong pid in netlink message",
  LIBBPF_ERRNO__INVSEQ: "invalid netlink sequence",
  LIBBPF_ERRNO__NLSE: "netlink error",
};

/**
 * Name an errno value symbolically.
 *
 * @param errno A positive or negative errno value.
 * @returns The symbolic name, e.g. `"ENOENT"`, or `"E<n>"` when unknown.
 * @example
 * ```ts
 * errnoName(-2); // "ENOENT"
 * ```
 */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return ERRNO_NAMES[n] ?? `E${n}`;
}

/**
 * Describe an errno value in words.
 *
 * @param errno A positive or negative errno value.
 * @returns A short description, e.g. `"no such file, entry or object"`.
 * @example
 * ```ts
 * errnoText(22); // "invalid argument"
 * ```
 */
export function errnoText(errno: number): string {
  return ERRNO_TEXT[errnoName(errno)] ?? `error ${Math.abs(errno)}`;
}

/** What a {@link BpfError} is built from. */
export interface BpfErrorInit {
  /** The failed operation, e.g. `"map update"`, `"load"`, `"attach"`. */
  op: string;
  /** A positive errno, when the failure came from the kernel or libbpf. */
  errno?: number;
  /** What went wrong, in words; the errno's description is appended when given. */
  message?: string;
  /** What to do about it, when the cause is known. */
  hint?: string;
  /** The whole verifier / libbpf / compiler log, when there is one. */
  log?: string;
  /** Append the log's last lines to the message (default); false when the message
   * already quotes the part that matters (e.g. clang's first error). */
  showLog?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** How many trailing log lines a message shows; the full log stays in `.log`. */
const LOG_TAIL_LINES = 12;

/**
 * An error from bpfsh: the operation, a symbolic errno code, a hint and the full log.
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/verifier_reject.bpf.o");
 * try {
 *   obj.load(); // the verifier rejects bad_access: a map value read without a NULL check
 * } catch (e) {
 *   if (e instanceof BpfError && e.code === "EACCES") console.error(e.log); // the verifier's log
 * }
 * ```
 */
export class BpfError extends Error {
  /** The failed operation, e.g. `"load"`. */
  readonly op: string;
  /** The symbolic errno, e.g. `"ENOENT"`; `"EINVAL"` for bad arguments. */
  readonly code: string;
  /** The positive errno number (0 when the error did not come from a syscall). */
  readonly errno: number;
  /** What to do about it, when known. */
  readonly hint?: string;
  /** The full log (verifier, libbpf or compiler), when there is one. */
  readonly log?: string;

  /**
   * Make an error; the message is built from the operation, the errno's name and text, the
   * message, the log's last lines and the hint.
   *
   * @param init What failed and why.
   */
  constructor(init: BpfErrorInit) {
    const errno = Math.abs(init.errno ?? 0);
    const parts = [init.op];
    if (init.message) parts.push(init.message);
    if (errno) parts.push(`${errnoText(errno)} (${errnoName(errno)})`);
    let message = parts.join(": ");
    if (init.log && init.showLog !== false) message += "\n" + logTail(init.log);
    if (init.hint) message += `\nhint: ${init.hint}`;
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "BpfError";
    this.op = init.op;
    this.errno = errno;
    this.code = errno ? errnoName(errno) : "EINVAL";
    this.hint = init.hint;
    this.log = init.log;
  }

  /** One line for a shell: the first line of the message plus the hint. */
  get summary(): string {
    const first = this.message.split("\n")[0];
    return this.hint ? `${first} (hint: ${this.hint})` : first;
  }
}

/**
 * Keep the last lines of a long log, saying how many were left out.
 *
 * @param log The full log.
 * @param lines How many trailing lines to keep.
 * @returns The tail, prefixed with `(N lines omitted)` when shortened.
 * @example
 * ```ts
 * logTail("a\nb\nc", 2); // "(1 lines omitted)\nb\nc"
 * ```
 */
export function logTail(log: string, lines = LOG_TAIL_LINES): string {
  const all = log.replace(/\s+$/, "").split("\n");
  if (all.length <= lines) return all.join("\n");
  return [`(${all.length - lines} lines omitted)`, ...all.slice(-lines)].join("\n");
}

/**
 * A hint for an errno that has a well-known cause in BPF work.
 *
 * @param op The operation that failed.
 * @param errno A positive errno.
 * @returns A hint, or undefined when there is nothing useful to say.
 * @example
 * ```ts
 * hintFor("load", 1); // "run as root, or grant CAP_BPF and CAP_PERFMON"
 * ```
 */
export function hintFor(op: string, errno: number): string | undefined {
  switch (errnoName(errno)) {
    case "EPERM":
      if (/fentry|fexit|lsm/.test(op)) {
        return "this kernel refuses fentry/fexit/lsm programs: use a tp_btf or raw_tp program";
      }
      return Deno.uid() === 0
        ? "refused even as root: the kernel's lockdown or a security policy forbids it"
        : "run as root, or grant CAP_BPF and CAP_PERFMON";
    // For a map the kernel says E2BIG when it is full (hash maps) or the index is past
    // max_entries (arrays); key and value sizes are checked before any syscall.
    case "E2BIG":
      return /^(map|prog array)/.test(op)
        ? "the map is full, or the index is past its max_entries"
        : "something is larger than the kernel allows (program, BTF, or a size passed in)";
    case "ENOSPC":
      return /^(map|prog array)/.test(op)
        ? "the map is full: raise max_entries or delete entries"
        : undefined;
    case "EBADF":
      return "the object was closed or the fd is stale";
    default:
      return undefined;
  }
}
