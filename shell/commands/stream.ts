/**
 * Streams: `tail MAP` (a ring or perf buffer, decoded by a BTF type) and `trace [REGEX]`
 * (trace_pipe). Both run until Ctrl-C, `--count N` events, `--timeout SECONDS`, or the
 * output closing (`| head`).
 *
 * @module
 */

import { loadCore } from "../core.ts";
import { ShellError } from "../errors.ts";
import type { Row } from "../output.ts";
import { parseCount } from "../values.ts";
import type { CommandSpec } from "./types.ts";
import type { OptionSpec } from "../args.ts";

/** The limits shared by the stream commands. */
interface Limits {
  count?: string;
  timeout?: string;
}

const LIMITS: Record<string, OptionSpec> = {
  count: { type: "string", arg: "N", help: "stop after N events" },
  timeout: { type: "string", arg: "SECONDS", help: "stop after SECONDS" },
};

/** When a stream should stop: after N events, at a deadline, or on Ctrl-C. */
class Stop {
  readonly max: number;
  readonly deadline: number;
  seen = 0;
  constructor(readonly signal: AbortSignal, limits: Limits) {
    this.max = limits.count === undefined ? Infinity : parseCount(limits.count, "--count");
    this.deadline = limits.timeout === undefined
      ? Infinity
      : Date.now() + parseCount(limits.timeout, "--timeout") * 1000;
  }
  get done(): boolean {
    return this.signal.aborted || this.seen >= this.max || Date.now() >= this.deadline;
  }
  /** Milliseconds to wait for the next batch. */
  wait(cap: number): number {
    return Math.max(0, Math.min(cap, this.deadline - Date.now()));
  }
}

/** What the buffers returned by `obj.ringbuf()` / `obj.perfbuf()` offer the shell. */
interface EventSource {
  poll(ms: number, cb: (ev: unknown) => void): Promise<number> | number;
  close?(): void;
  readonly stats?: { events: number; lost?: number; full?: number };
}

/** `tail`. */
export const tailCommand: CommandSpec = {
  name: "tail",
  group: "Streams",
  summary: "print the events of a ring buffer or perf buffer until Ctrl-C",
  args: [{ name: "map", help: "a ringbuf or perf_event_array map", required: true }],
  options: {
    as: {
      type: "string",
      arg: "TYPE",
      help: "decode events as this BTF struct of the object (default: guessed)",
      complete: "struct",
    },
    ...LIMITS,
  },
  async run(ctx, { args, opts }) {
    const { session, out } = ctx;
    const { lo, map } = session.map(args.map as string);
    // Without --as the core picks the object's event struct (event, *_event, data_t).
    const type = opts.as as string | undefined;
    const stop = new Stop(ctx.signal, opts as Limits);
    const obj = lo.obj as unknown as Record<string, (name: string, o: object) => EventSource>;
    const { DropReport, EventStacks, formatFrame } = await loadCore();
    const drops = new DropReport((t) => out.info(t), map.name);
    let source: EventSource;
    let perf = false;
    if (map.type === "ringbuf") {
      source = obj.ringbuf(map.name, { type, onFull: drops.onFull });
    } else if (map.type === "perf_event_array") {
      perf = true;
      source = obj.perfbuf(map.name, { type, onLost: drops.onLost });
    } else {
      throw new ShellError(`${map.name} is a ${map.type} map, not a ring or perf buffer`, {
        hint: "tail takes a ringbuf or perf_event_array map; see `map list`",
      });
    }
    if (ctx.interactive && out.format === "table") {
      out.info(`tailing ${map.name}${type ? ` as ${type}` : ""} (Ctrl-C to stop)`);
    }
    out.beginStream();
    // Events holding bpf_get_stack() arrays print their frames symbolized.
    using stacks = new EventStacks();
    const print = (ev: unknown) => {
      // After Ctrl-C the rest of the batch is dropped: the prompt comes back at once.
      if (stop.seen >= stop.max || ctx.signal.aborted) return;
      stop.seen++;
      const row = perf ? flattenPerf(ev) : ev;
      const split = stacks.split(row);
      if (!split) return out.event(row);
      const named = split.stacks.map((s) => [s.name, s.frames.map((f) => formatFrame(f))]);
      if (out.format !== "table") {
        return out.event({ ...split.rest, ...Object.fromEntries(named) });
      }
      out.event(split.rest);
      for (const [name, frames] of named) {
        out.line(`    ${name}:`);
        for (const f of frames) out.line(`        ${f}`);
      }
    };
    try {
      while (!stop.done) await source.poll(stop.wait(100), print);
    } finally {
      source.close?.();
      const summary = drops.summary(source.stats);
      if (summary) out.info(summary);
    }
  },
};

/** `trace`. */
export const traceCommand: CommandSpec = {
  name: "trace",
  group: "Streams",
  summary: "print trace_pipe lines (bpf_printk) matching REGEX",
  description: "print trace_pipe lines (bpf_printk output), filtered by a regex, until Ctrl-C",
  args: [{ name: "regex", help: "only lines whose text matches" }],
  options: LIMITS,
  async run(ctx, { args, opts }) {
    const { out } = ctx;
    const pattern = args.regex as string | undefined;
    let re: RegExp | undefined;
    try {
      re = pattern ? new RegExp(pattern) : undefined;
    } catch (e) {
      throw new ShellError(`bad regex '${pattern}': ${(e as Error).message}`, { usage: true });
    }
    const { tracePipe } = await loadCore();
    const stop = new Stop(ctx.signal, opts as Limits);
    // One signal for Ctrl-C and --timeout: the pipe stops waiting at once on either.
    const done = new AbortController();
    const abort = () => done.abort();
    ctx.signal.addEventListener("abort", abort, { once: true });
    const timer = stop.deadline < Infinity
      ? setTimeout(abort, stop.deadline - Date.now())
      : undefined;
    if (ctx.interactive && out.format === "table") {
      out.info("reading trace_pipe (Ctrl-C to stop)");
    }
    out.beginStream();
    try {
      for await (const l of tracePipe({ filter: re, signal: done.signal })) {
        if (done.signal.aborted) break;
        out.event({
          time: l.timestamp,
          task: l.task,
          pid: l.pid,
          cpu: l.cpu,
          message: l.message,
        });
        if (++stop.seen >= stop.max) break;
      }
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", abort);
    }
  },
};

/** A perf event `{cpu, data}` as one row: the CPU, then the decoded fields. */
function flattenPerf(ev: unknown): unknown {
  if (!ev || typeof ev !== "object" || !("data" in ev)) return ev;
  const { cpu, data } = ev as { cpu: number; data: unknown };
  if (data && typeof data === "object" && !ArrayBuffer.isView(data) && !Array.isArray(data)) {
    return { cpu, ...(data as Row) };
  }
  return { cpu, data };
}

/**
 * The named structs of an object's own BTF, for `--as` completion.
 *
 * @param obj The object.
 * @returns Struct names (without `struct `), empty when the object has no BTF.
 * @example
 * ```ts
 * objectStructNames(obj); // ["data_t", "trace_entry", ...]
 * ```
 */
export function objectStructNames(obj: unknown): string[] {
  try {
    const btf = (obj as { btf?: { names(prefix: string): string[] } }).btf;
    return btf ? btf.names("struct ").map((n) => n.replace(/^struct /, "")) : [];
  } catch {
    return [];
  }
}
