/**
 * Waiting for event buffers to become readable: one epoll set per reader, waited on by a
 * nonblocking FFI call (a worker thread), with an eventfd in the set so that a wake-up or
 * a close ends a wait at once.
 *
 * @module
 */

import { EPOLL_EVENT, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLLIN,
  errno,
  libc,
} from "../../ffi/libc.ts";

const EPOLL_EVENT_SIZE = EPOLL_EVENT.size;

/**
 * Waits for any of a set of fds to become readable, on a worker thread (a nonblocking FFI
 * call) so the event loop keeps running. An eventfd in the set lets {@link Poller.wake}
 * and {@link Poller.close} end a wait at once.
 *
 * @example
 * ```ts
 * const poller = new Poller([map.fd], "ring buffer");
 * await poller.wait(100); // readable, woken, or 100 ms passed
 * poller.close();
 * ```
 */
export class Poller {
  #epfd: number;
  #wakefd: number;
  #events: Uint8Array<ArrayBuffer>;
  #pending: Promise<void> | undefined;
  #closed = false;

  /**
   * @param fds The fds to wait on (each for EPOLLIN).
   * @param what What the fds belong to, for error messages.
   */
  constructor(fds: readonly number[], what: string) {
    const c = libc();
    this.#epfd = c.epoll_create1(EPOLL_CLOEXEC);
    if (this.#epfd < 0) throw syscallError("epoll_create1", what);
    this.#wakefd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (this.#wakefd < 0) {
      const err = syscallError("eventfd", what);
      c.close(this.#epfd);
      throw err;
    }
    this.#events = new Uint8Array(EPOLL_EVENT_SIZE * (fds.length + 1));
    try {
      this.#add(this.#wakefd, what);
      for (const fd of fds) this.#add(fd, what);
    } catch (e) {
      this.#release();
      throw e;
    }
  }

  #add(fd: number, what: string): void {
    const ev = EPOLL_EVENT.alloc();
    EPOLL_EVENT.set(ev, "events", EPOLLIN);
    EPOLL_EVENT.set(ev, "data", fd);
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
      throw syscallError("epoll_ctl", `${what} (fd ${fd})`);
    }
  }

  /** Whether a wait is in flight. */
  get waiting(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Wait until an fd is readable, {@link Poller.wake} is called, or `timeoutMs` passes.
   * Concurrent callers share the wait in flight. After close() it resolves at once.
   *
   * @param timeoutMs Milliseconds; -1 waits without limit, 0 only checks.
   * @returns When the wait ended.
   * @example
   * ```ts
   * await poller.wait(-1);
   * ```
   */
  wait(timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#pending ??= libc()
      .epoll_wait_async(this.#epfd, this.#events, this.#events.length / EPOLL_EVENT_SIZE, timeoutMs)
      .then(() => {
        this.#pending = undefined;
        if (this.#closed) this.#release();
        else this.#clearWake();
      });
    return this.#pending;
  }

  /**
   * End the wait in flight (if any) now.
   *
   * @example
   * ```ts
   * signal.addEventListener("abort", () => poller.wake());
   * ```
   */
  wake(): void {
    if (this.#wakefd < 0) return;
    libc().write(this.#wakefd, ONE, 8n);
  }

  #clearWake(): void {
    if (this.#wakefd >= 0) libc().read(this.#wakefd, SCRATCH8, 8n);
  }

  /**
   * Close the epoll and eventfd fds; a wait in flight is woken and the fds are closed as
   * soon as it returns (so its thread never waits on a reused fd number).
   *
   * @example
   * ```ts
   * poller.close();
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending) this.wake();
    else this.#release();
  }

  /**
   * Close, then wait for the wait in flight (if any) to return and release its fds.
   *
   * @returns When every fd is closed.
   * @example
   * ```ts
   * await poller.closed();
   * ```
   */
  async closed(): Promise<void> {
    this.close();
    while (this.#pending) await this.#pending;
  }

  #release(): void {
    const c = libc();
    if (this.#wakefd >= 0) c.close(this.#wakefd);
    if (this.#epfd >= 0) c.close(this.#epfd);
    this.#wakefd = -1;
    this.#epfd = -1;
  }
}

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const SCRATCH8 = new Uint8Array(8);

function syscallError(call: string, what: string): BpfError {
  const code = errno();
  return new BpfError({
    op: call,
    errno: code,
    message: `cannot wait for ${what}`,
    hint: code === ERRNO.EMFILE
      ? "too many open files: close objects or raise the fd limit"
      : undefined,
  });
}
