/**
 * The reaper: a small process that undoes what the kernel keeps after bpfsh's process is
 * gone, however it ended (SIGKILL included): netlink tc filters and the clsact qdisc bpfsh
 * created (kernels without tcx links), legacy tracefs probe events (kernels without the
 * kprobe/uprobe PMU). Everything fd-owned (links, programs, maps, tcx, XDP) the kernel frees
 * by itself and never reaches the reaper.
 *
 * It starts on the first such attachment, not before: a session that makes none pays
 * nothing. bpfsh keeps the write end of a pipe whose read end the reaper inherited, and
 * tells it each task before making the thing (`+ID JSON`) and when it undid it itself
 * (`-ID`), with one synchronous write each: a kill between two steps leaves nothing the
 * reaper was not told of. When the pipe reaches end of file (every writer is gone, so
 * bpfsh's process is), the reaper undoes what is left and exits (bpf/link/reaper_main.ts).
 * It runs in a session of its own, so the signals of the terminal's process group (Ctrl-C,
 * hang-up) never reach it, and it ignores those sent to it while bpfsh lives.
 *
 * @module
 */

import { ERRNO, FD_FLAGS } from "../../ffi/abi.ts";
import { errno, libc } from "../../ffi/libc.ts";
import { type ProbeEventFile, sweepStaleProbeEvents, usesLegacyEvents } from "./probe_events.ts";
import type { TcFilterId } from "./tc_netlink.ts";

/** What the reaper undoes when bpfsh's process ends before undoing it itself. */
export type ReaperTask =
  /** A netlink tc filter (removed only while it still runs that program). */
  | { kind: "tc-filter"; filter: TcFilterId }
  /** The clsact qdisc of an interface, which bpfsh is about to create (removed if unused). */
  | { kind: "clsact"; ifindex: number }
  /** Legacy probe events libbpf names after this process (`libbpf_PID_…`). */
  | { kind: "probe-events"; file: ProbeEventFile; pid: number };

interface Reaper {
  pid: number;
  fd: number;
}

let current: Reaper | undefined;
let nextId = 1;
const tasks = new Map<number, ReaperTask>();
let warned = false;

/**
 * Tell the reaper to undo something if this process ends first; starts the reaper on the
 * first call. Call it before creating the thing.
 *
 * @param task What to undo.
 * @returns The task's id, for {@link reaperDone}.
 * @example
 * ```ts
 * const id = reaperTake({ kind: "clsact", ifindex: 1 });
 * ```
 */
export function reaperTake(task: ReaperTask): number {
  const id = nextId++;
  tasks.set(id, task);
  send(`+${id} ${JSON.stringify(task)}\n`);
  return id;
}

const watchedEvents = new Set<ProbeEventFile>();

/**
 * Before a kprobe or uprobe attach: where libbpf will write legacy tracefs events, remove
 * those that dead processes left, and have the reaper remove this process's own if it dies.
 *
 * @param kind `"kprobe"` or `"uprobe"`.
 * @example
 * ```ts
 * guardLegacyEvents("uprobe"); // nothing on kernels with the uprobe PMU
 * ```
 */
export function guardLegacyEvents(kind: "kprobe" | "uprobe"): void {
  if (!usesLegacyEvents(kind)) return;
  const file: ProbeEventFile = `${kind}_events`;
  sweepStaleProbeEvents(file);
  reaperWatchProbeEvents(file);
}

/**
 * Have the reaper remove this process's legacy probe events of one file if it dies holding
 * them (once per file; libbpf removes them itself when a link is destroyed).
 *
 * @param file `"kprobe_events"` or `"uprobe_events"`.
 * @example
 * ```ts
 * if (usesLegacyEvents("uprobe")) reaperWatchProbeEvents("uprobe_events");
 * ```
 */
export function reaperWatchProbeEvents(file: ProbeEventFile): void {
  if (watchedEvents.has(file)) return;
  watchedEvents.add(file);
  reaperTake({ kind: "probe-events", file, pid: Deno.pid });
}

/**
 * Tell the reaper a task is done (undone by bpfsh itself, or never made).
 *
 * @param id From {@link reaperTake}.
 * @example
 * ```ts
 * reaperDone(id);
 * ```
 */
export function reaperDone(id: number): void {
  if (!tasks.delete(id)) return;
  // A failed write closed the pipe: forget it (its fd number may be reused by another
  // file), and the next task starts a new reaper with what is live then.
  if (current && !write(current, `-${id}\n`)) current = undefined;
}

/**
 * The reaper's process id, when one runs for this process (for tests and `doctor`).
 *
 * @returns The pid, or undefined before the first task.
 * @example
 * ```ts
 * reaperPid(); // undefined in a session that made no netlink tc filter
 * ```
 */
export function reaperPid(): number | undefined {
  return current?.pid;
}

/**
 * How many tasks the reaper holds for this process now.
 *
 * @returns The count (0 once everything was undone in-process).
 * @example
 * ```ts
 * reaperTasks(); // 0 after every tc link was closed
 * ```
 */
export function reaperTasks(): number {
  return tasks.size;
}

function send(line: string): void {
  if (current && write(current, line)) return;
  current = undefined;
  // Not started yet, or gone (killed on its own): a new one gets every live task.
  current = start();
  if (!current) return;
  const all = [...tasks].map(([id, t]) => `+${id} ${JSON.stringify(t)}\n`).join("");
  if (!write(current, all)) current = undefined;
}

/** One write(2): lines are short, and a pipe writes up to 4096 bytes at once. */
function write(r: Reaper, text: string): boolean {
  const bytes = new TextEncoder().encode(text);
  for (;;) {
    const n = Number(libc().write(r.fd, bytes, BigInt(bytes.length)));
    if (n === bytes.length) return true;
    if (n < 0 && errno() === ERRNO.EINTR) continue;
    // EPIPE: the reaper died. Drop this pipe; the caller starts another.
    libc().close(r.fd);
    return false;
  }
}

function start(): Reaper | undefined {
  const c = libc();
  const fds = new Int32Array(2);
  if (c.pipe2(new Uint8Array(fds.buffer), FD_FLAGS.O_CLOEXEC) < 0) return failed("pipe2");
  const [readFd, writeFd] = fds;
  // Only the read end crosses into the reaper; the write end stays close-on-exec, or every
  // child bpfsh starts would hold it open and the reaper would wait for them too.
  c.fcntl(readFd, FD_FLAGS.F_SETFD, 0);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "-A",
        new URL("./reaper_main.ts", import.meta.url).href,
        String(readFd),
        String(Deno.pid),
      ],
      stdin: "null",
      stdout: "null",
      stderr: Deno.env.get("BPFSH_REAPER_DEBUG") ? "inherit" : "null",
      detached: true,
    }).spawn();
    child.unref();
    return { pid: child.pid, fd: writeFd };
  } catch (e) {
    c.close(writeFd);
    return failed(e instanceof Error ? e.message : String(e));
  } finally {
    c.close(readFd);
  }
}

function failed(why: string): undefined {
  if (!warned) {
    warned = true;
    console.error(
      `bpfsh: no reaper (${why}): a netlink tc filter or legacy probe event is removed on ` +
        `close, exit and signals, but would outlive a SIGKILL of this process`,
    );
  }
  return undefined;
}
