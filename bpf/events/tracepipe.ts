/**
 * The kernel's trace pipe (`/sys/kernel/tracing/trace_pipe`), where `bpf_printk` output
 * and enabled trace events go, as an async iterable of parsed lines.
 *
 * The file is opened non-blocking and waited on with epoll (with a timeout, since the
 * kernel may only signal it when its buffer is partly full), so stopping the iteration
 * (`break`, `close()`, an abort signal) returns at once and releases the file for the
 * next reader: a blocking read of trace_pipe would hold it until the next line came.
 * Lines read by one reader are gone for the others (the pipe is consuming).
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import {
  cstr,
  EAGAIN,
  EINTR,
  errno,
  libc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
} from "../../ffi/libc.ts";
import { ensureTracefs } from "../system/mounts.ts";
import { Poller } from "./poller.ts";

/** One parsed trace_pipe line. */
export interface TraceLine {
  /** The task (thread) name, e.g. `"bash"` or `"<idle>"`. */
  task: string;
  /** The thread id the line was written from. */
  pid: number;
  /** The thread group id, when the `record-tgid` option shows it. */
  tgid?: number;
  /** The CPU. */
  cpu: number;
  /** The irqs-off / need-resched / hard-soft-irq / preempt-depth flags, e.g. `"d..31"`. */
  flags: string;
  /** Seconds since boot (the trace clock), e.g. `1234.567890`. */
  timestamp: number;
  /** The event, e.g. `"bpf_trace_printk"`, or `""` when the line has none. */
  event: string;
  /** What was printed (for bpf_printk: the formatted string). */
  message: string;
  /** The whole line as the kernel wrote it. */
  raw: string;
}

/** Options of {@link tracePipe}. */
export interface TracePipeOptions {
  /**
   * Keep only some lines: a RegExp tested on the raw line, a string the raw line must
   * contain, or a predicate on the parsed line.
   */
  filter?: RegExp | string | ((line: TraceLine) => boolean);
  /** Stop the iteration and release the file. */
  signal?: AbortSignal;
  /** The pipe to read (default: trace_pipe of tracefs, mounted when it is not). */
  path?: string;
  /** The longest one wait lasts before the pipe is read again (default 100 ms). */
  pollMs?: number;
}

/** `task-pid (tgid) [cpu] flags timestamp: rest`; the flags and tgid columns are optional. */
const LINE =
  /^\s*(.*)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:(\S{4,5})\s+)?(\d+\.\d+):\s?(.*)$/;
/** `event: message`, where the event is an identifier such as bpf_trace_printk. */
const EVENT = /^([\w.:-]+): (.*)$/s;

/**
 * Parse one trace_pipe line.
 *
 * @param raw The line, without its newline.
 * @returns The fields, or undefined for a line that is not a trace record (e.g. the
 *   `CPU:1 [LOST 3 EVENTS]` notices).
 * @example
 * ```ts
 * parseTraceLine("  bash-1977  [001] d..31  1234.567890: bpf_trace_printk: hi");
 * // { task: "bash", pid: 1977, cpu: 1, flags: "d..31", timestamp: 1234.56789,
 * //   event: "bpf_trace_printk", message: "hi", raw: "..." }
 * ```
 */
export function parseTraceLine(raw: string): TraceLine | undefined {
  const m = LINE.exec(raw);
  if (!m) return undefined;
  const rest = m[7];
  const ev = EVENT.exec(rest);
  const line: TraceLine = {
    task: m[1].trim(),
    pid: Number(m[2]),
    cpu: Number(m[4]),
    flags: m[5] ?? "",
    timestamp: Number(m[6]),
    event: ev ? ev[1] : "",
    message: ev ? ev[2] : rest,
    raw,
  };
  if (m[3] !== undefined && /^\d+$/.test(m[3])) line.tgid = Number(m[3]);
  return line;
}

/**
 * The trace pipe's path: tracefs's trace_pipe, mounting tracefs when it is not mounted.
 *
 * @returns The path, e.g. `/sys/kernel/tracing/trace_pipe`.
 * @example
 * ```ts
 * Deno.statSync(tracePipePath());
 * ```
 */
export function tracePipePath(): string {
  return `${ensureTracefs()}/trace_pipe`;
}

function compileFilter(
  filter: TracePipeOptions["filter"],
): ((line: TraceLine) => boolean) | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter === "function") return filter;
  if (typeof filter === "string") return (l) => l.raw.includes(filter);
  return (l) => {
    filter.lastIndex = 0;
    return filter.test(l.raw);
  };
}

const READ_SIZE = 65536;

/**
 * A reader of the trace pipe. Iterate it with `for await`; `break`, `close()` or the
 * abort signal stop it and close the file.
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/events.bpf.o");
 * obj.load();
 * // say prints "bpfsh-events nonce=N answer=42" with bpf_printk
 * const nonce = BigInt(Date.now());
 * const say = () => obj.program("say").testRun({ ctx: new Uint8Array(new BigUint64Array([nonce]).buffer) });
 * using pipe = tracePipe({ filter: `nonce=${nonce}` });
 * say();
 * for await (const line of pipe) {
 *   console.log(line.pid, line.message); // 4242 bpfsh-events nonce=… answer=42
 *   break; // closes the pipe
 * }
 * ```
 */
export class TracePipe implements AsyncIterableIterator<TraceLine>, Disposable, AsyncDisposable {
  /** The file read. */
  readonly path: string;
  #fd: number;
  #poller: Poller;
  #filter?: (line: TraceLine) => boolean;
  #signal?: AbortSignal;
  #pollMs: number;
  #buf = new Uint8Array(READ_SIZE);
  #decoder = new TextDecoder();
  #partial = "";
  #lines: TraceLine[] = [];
  #count = 0;
  #closed = false;
  #onAbort = () => this.close();

  /**
   * Open the trace pipe (prefer {@link tracePipe}).
   *
   * @param opts Filter, signal, path and wait bound.
   */
  constructor(opts: TracePipeOptions = {}) {
    this.path = opts.path ?? tracePipePath();
    this.#filter = compileFilter(opts.filter);
    this.#signal = opts.signal;
    this.#pollMs = Math.max(1, opts.pollMs ?? 100);
    this.#fd = libc().open(cstr(this.path), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (this.#fd < 0) {
      const code = errno();
      throw new BpfError({
        op: "trace pipe open",
        errno: code,
        message: `cannot open '${this.path}'`,
        hint: code === ERRNO.EPERM || code === ERRNO.EACCES
          ? "run as root"
          : code === ERRNO.EBUSY
          ? "another process holds the trace pipe"
          : undefined,
      });
    }
    try {
      this.#poller = new Poller([this.#fd], "trace pipe");
    } catch (e) {
      libc().close(this.#fd);
      throw e;
    }
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (this.#signal?.aborted) this.close();
  }

  /** Whether the pipe was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Counters: lines delivered (after the filter).
   *
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * // say prints "bpfsh-events nonce=N answer=42" with bpf_printk
   * const nonce = BigInt(Date.now());
   * const say = () => obj.program("say").testRun({ ctx: new Uint8Array(new BigUint64Array([nonce]).buffer) });
   * using pipe = tracePipe({ filter: `nonce=${nonce}` });
   * say();
   * await pipe.next();
   * pipe.stats.lines; // 1 line passed the filter (more were read when others printed)
   * ```
   */
  get stats(): { lines: number } {
    return { lines: this.#count };
  }

  /** Read what the pipe has now into #lines; false when it had nothing. */
  #read(): boolean {
    const n = Number(libc().read(this.#fd, this.#buf, BigInt(READ_SIZE)));
    if (n < 0) {
      const code = errno();
      if (code === EAGAIN || code === EINTR) return false;
      throw new BpfError({ op: "trace pipe read", errno: code, message: `'${this.path}'` });
    }
    if (n === 0) return false;
    const text = this.#partial + this.#decoder.decode(this.#buf.subarray(0, n), { stream: true });
    const parts = text.split("\n");
    this.#partial = parts.pop() ?? "";
    for (const raw of parts) {
      if (!raw) continue;
      const line = parseTraceLine(raw) ?? {
        task: "",
        pid: 0,
        cpu: -1,
        flags: "",
        timestamp: 0,
        event: "",
        message: raw,
        raw,
      };
      if (this.#filter && !this.#filter(line)) continue;
      this.#lines.push(line);
    }
    return true;
  }

  /**
   * The next line, waiting for one; done once closed.
   *
   * @returns The iterator result.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * // say prints "bpfsh-events nonce=N answer=42" with bpf_printk
   * const nonce = BigInt(Date.now());
   * const say = () => obj.program("say").testRun({ ctx: new Uint8Array(new BigUint64Array([nonce]).buffer) });
   * using pipe = tracePipe({ filter: `nonce=${nonce}` });
   * say();
   * const { value } = await pipe.next();
   * console.log(value?.message); // bpfsh-events nonce=… answer=42
   * ```
   */
  async next(): Promise<IteratorResult<TraceLine>> {
    for (;;) {
      if (this.#closed) return { value: undefined, done: true };
      const line = this.#lines.shift();
      if (line) {
        this.#count++;
        return { value: line, done: false };
      }
      if (!this.#read()) await this.#poller.wait(this.#pollMs);
    }
  }

  /**
   * Stop: close the file (the `break` of a `for await` calls this).
   *
   * @returns A done result.
   * @example
   * ```ts
   * using obj = await BpfObject.open("build/tests/events.bpf.o");
   * obj.load();
   * // say prints "bpfsh-events nonce=N answer=42" with bpf_printk
   * const nonce = BigInt(Date.now());
   * const say = () => obj.program("say").testRun({ ctx: new Uint8Array(new BigUint64Array([nonce]).buffer) });
   * const pipe = tracePipe({ filter: `nonce=${nonce}` });
   * say();
   * await pipe.next();
   * await pipe.return(); // as a loop's break does: the file is closed
   * ```
   */
  return(): Promise<IteratorResult<TraceLine>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The pipe is its own iterator (one pass: it closes when the loop ends). */
  [Symbol.asyncIterator](): AsyncIterableIterator<TraceLine> {
    return this;
  }

  /**
   * Close the file now (a wait in flight ends at once); calling it again does nothing.
   *
   * @example
   * ```ts
   * const pipe = tracePipe({ filter: "a line no one prints" });
   * setTimeout(() => pipe.close(), 200);
   * for await (const line of pipe) console.log(line); // ends after 200 ms, having printed nothing
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#lines = [];
    this.#poller.close();
    libc().close(this.#fd);
    this.#fd = -1;
  }

  /** `using pipe = tracePipe()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using`: closes and waits until the epoll thread let go of its fds. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#poller.closed();
  }
}

/**
 * Read the kernel trace pipe as parsed lines (bpf_printk output, trace events).
 * tracefs is mounted at /sys/kernel/tracing when it is not mounted yet.
 *
 * @param opts A filter, an abort signal, another path, the wait bound.
 * @returns The reader: iterate it with `for await`; `break` or close() releases the file.
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/events.bpf.o");
 * obj.load();
 * // say prints "bpfsh-events nonce=N answer=42" with bpf_printk
 * const nonce = BigInt(Date.now());
 * const say = () => obj.program("say").testRun({ ctx: new Uint8Array(new BigUint64Array([nonce]).buffer) });
 * say();
 * for await (const line of tracePipe({ filter: `nonce=${nonce}` })) {
 *   console.log(line.task, line.pid, line.message); // deno 4242 bpfsh-events nonce=… answer=42
 *   break;
 * }
 * ```
 */
export function tracePipe(opts: TracePipeOptions = {}): TracePipe {
  return new TracePipe(opts);
}
