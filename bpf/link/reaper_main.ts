/**
 * The reaper process (started by bpf/link/reaper.ts): `reaper_main.ts FD PARENT_PID`. It
 * reads tasks from the inherited pipe FD until end of file, which comes when bpfsh's process
 * is gone however it ended, then undoes what is left, newest first, and exits. It undoes
 * only what bpfsh said it made: a filter only while it runs the program it was made with,
 * the qdisc only while no filter is left under it, probe events only under the parent's
 * pid. SIGINT, SIGTERM, SIGHUP and SIGQUIT are ignored: end of file is the only way out.
 *
 * @module
 */

import { removeProbeEventsOf } from "./probe_events.ts";
import type { ReaperTask } from "./reaper.ts";
import { removeClsactIfUnused, removeTcFilter } from "./tc_netlink.ts";

/**
 * Apply one line of the protocol to the live tasks: `+ID JSON` adds, `-ID` removes.
 *
 * @param tasks The live tasks, by id.
 * @param line One line.
 * @example
 * ```ts
 * applyLine(tasks, '+1 {"kind":"clsact","ifindex":1}');
 * ```
 */
export function applyLine(tasks: Map<number, ReaperTask>, line: string): void {
  const m = /^([+-])(\d+)(?: (.*))?$/.exec(line);
  if (!m) return;
  const id = Number(m[2]);
  if (m[1] === "-") {
    tasks.delete(id);
    return;
  }
  try {
    tasks.set(id, JSON.parse(m[3] ?? "") as ReaperTask);
  } catch {
    // A torn line cannot come from a single write under PIPE_BUF; skip anything else.
  }
}

/**
 * Undo the tasks left, newest first (a qdisc after the filters under it).
 *
 * @param tasks The live tasks.
 * @returns What was undone, one line each (for tests and `BPFSH_REAPER_DEBUG`).
 * @example
 * ```ts
 * await undoAll(tasks); // ["tc-filter 1 ingress 49152: removed", "clsact 1: removed"]
 * ```
 */
export async function undoAll(tasks: Map<number, ReaperTask>): Promise<string[]> {
  const done: string[] = [];
  for (const id of [...tasks.keys()].sort((a, b) => b - a)) {
    const t = tasks.get(id)!;
    tasks.delete(id);
    try {
      done.push(await undo(t));
    } catch (e) {
      done.push(`${t.kind}: ${e instanceof Error ? e.message : e}`);
    }
  }
  return done;
}

async function undo(t: ReaperTask): Promise<string> {
  switch (t.kind) {
    case "tc-filter": {
      const f = t.filter;
      const ok = removeTcFilter(f);
      return `tc-filter ${f.ifindex} ${f.direction} ${f.priority}: ${ok ? "removed" : "not ours"}`;
    }
    case "clsact":
      return `clsact ${t.ifindex}: ${removeClsactIfUnused(t.ifindex) ? "removed" : "in use"}`;
    case "probe-events": {
      // The process's perf event fds may close a moment after its pipe did: an event still
      // in use cannot be removed (EBUSY), so try again for a while.
      let left = removeProbeEventsOf(t.file, t.pid);
      for (let i = 0; left > 0 && i < 40; i++) {
        await new Promise((r) => setTimeout(r, 50));
        left = removeProbeEventsOf(t.file, t.pid);
      }
      return `probe-events ${t.file} ${t.pid}: ${left} left`;
    }
  }
}

async function main(fd: number): Promise<void> {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const) {
    Deno.addSignalListener(sig, () => {});
  }
  const tasks = new Map<number, ReaperTask>();
  const pipe = await Deno.open(`/proc/self/fd/${fd}`, { read: true });
  let rest = "";
  const decoder = new TextDecoder();
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await pipe.read(buf);
    if (n === null) break;
    rest += decoder.decode(buf.subarray(0, n), { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) applyLine(tasks, line);
  }
  const done = await undoAll(tasks);
  if (Deno.env.get("BPFSH_REAPER_DEBUG")) { for (const d of done) console.error(`reaper: ${d}`); }
  Deno.exit(0);
}

if (import.meta.main) await main(Number(Deno.args[0]));
