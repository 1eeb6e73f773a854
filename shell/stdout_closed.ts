/**
 * Noticing that nobody reads our output any more (`bpfsh … | head -3` after head has left),
 * whether or not we are writing: stdout is watched with epoll, which reports EPOLLERR on a
 * pipe whose reader is gone. A command or script that prints nothing for a while (waiting for
 * events, or between intervals) still stops, and so does a script that prints through
 * `console.log`, which drops EPIPE silently.
 *
 * @module
 */

import { EPOLL_EVENT } from "../ffi/abi.ts";
import { EPOLL_CLOEXEC, EPOLL_CTL_ADD, libc } from "../ffi/libc.ts";

/** How often the watch looks. */
const INTERVAL_MS = 100;

/**
 * The exit status of a process whose output closed: what SIGPIPE's default action gives
 * (128 + 13), which is what shells expect of `producer | head`.
 */
export const CLOSED_OUTPUT_STATUS = 141;

/**
 * Call `handler` once when stdout is a pipe (or socket) whose reader has gone. Nothing is
 * watched when stdout is a terminal (a hang-up is SIGHUP) or a file (it never closes). The
 * watch never keeps the process alive.
 *
 * @param handler What to do: typically close everything and exit with
 *   {@link CLOSED_OUTPUT_STATUS}.
 * @returns A function that stops the watch.
 * @example
 * ```ts
 * const stop = onStdoutClosed(() => Deno.exit(CLOSED_OUTPUT_STATUS));
 * stop();
 * ```
 */
export function onStdoutClosed(handler: () => void): () => void {
  let epfd = -1;
  try {
    if (Deno.stdout.isTerminal()) return () => {};
    const c = libc();
    epfd = c.epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) return () => {};
    // No event asked for: EPOLLERR and EPOLLHUP are always reported.
    if (c.epoll_ctl(epfd, EPOLL_CTL_ADD, 1, EPOLL_EVENT.alloc()) < 0) {
      c.close(epfd); // a regular file or /dev/null (EPERM): it never closes
      return () => {};
    }
  } catch {
    return () => {};
  }
  const events = EPOLL_EVENT.alloc();
  const stop = () => {
    clearInterval(timer);
    if (epfd >= 0) libc().close(epfd);
    epfd = -1;
  };
  const timer = setInterval(() => {
    if (epfd >= 0 && libc().epoll_wait(epfd, events, 1, 0) > 0) {
      stop();
      handler();
    }
  }, INTERVAL_MS);
  Deno.unrefTimer(timer);
  return stop;
}

/**
 * Whether an error is a write to a closed pipe.
 *
 * @param e What a write threw.
 * @returns True for EPIPE.
 * @example
 * ```ts
 * try { Deno.stdout.writeSync(bytes); } catch (e) { if (isBrokenPipe(e)) leave(); }
 * ```
 */
export function isBrokenPipe(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe;
}
