/**
 * Declarative sessions: a YAML file that says which objects to load, their globals, what to
 * attach, tail-call wiring, maps to pre-fill, then what to run, tail, watch and dump, and in
 * which output format. Every step becomes a shell command run by the same dispatcher as the
 * REPL, so a session behaves exactly like typing it.
 *
 * ```yaml
 * output: json                      # table | json | yaml (a --json/--yaml flag wins)
 * objects:                          # or `object: path` for just one
 *   - path: build/tests/shell_demo.bpf.o
 *     name: demo                    # session name (default: the file name)
 *     globals: { filter_uid: 0 }    # set before load
 *     attach: all                   # all | none | [prog, {program: p, target: t}]
 *     progarray: [{ map: jmp, index: 59, program: hello_exec }]
 *     maps: { counts: { 1000: 5 } } # or a list of [key, value] pairs
 * run:                              # any shell commands, or {sleep: seconds}
 *   - "globals"
 * tail: { map: events, as: data_t, count: 10, timeout: 5 }
 * watch: { map: counts, interval: 1, times: 3 }
 * dump: [counts]                    # printed last
 * hist: [pid_hist]
 * ```
 *
 * @module
 */

import type { Ctx } from "./commands/types.ts";
import { ShellError } from "./errors.ts";
import { loadYaml } from "./output.ts";
import { abortableSleep } from "./sleep.ts";
import { readRegularFile } from "../bpf/build/bounded_read.ts";
import { type ObjectSpec, parseSession, type SessionSpec } from "./session_schema.ts";

/** The largest session file bpfsh reads. */
const SESSION_LIMIT = 1 << 20;

/**
 * Turn a session into the shell commands that perform it, in order.
 *
 * @param input The parsed YAML (checked against the session schema first).
 * @returns Argument vectors for the dispatcher.
 * @example
 * ```ts
 * sessionCommands({ object: "x.o", dump: "counts" });
 * // [["load", "x.o"], ["map", "dump", "counts"]]
 * ```
 */
export function sessionCommands(input: unknown): (string[] | { sleep: number } | string)[] {
  const spec = parseSession(input);
  const steps: (string[] | { sleep: number } | string)[] = [];
  const objects = [...(spec.object ? [spec.object] : []), ...(spec.objects ?? [])];
  for (const raw of objects) {
    const o: ObjectSpec = typeof raw === "string" ? { path: raw } : raw;
    const load = ["load", o.path];
    if (o.name) load.push("--name", o.name);
    for (const [k, v] of Object.entries(o.globals ?? {})) load.push("--set", `${k}=${arg(v)}`);
    const attach = o.attach ?? "all";
    if (attach !== "all") load.push("--no-attach");
    steps.push(load);
    const prefix = o.name ? `${o.name}.` : "";
    for (const [map, entries] of Object.entries(o.maps ?? {})) {
      const pairs = Array.isArray(entries) ? entries : Object.entries(entries);
      for (const [k, v] of pairs) steps.push(["map", "set", prefix + map, arg(k), arg(v)]);
    }
    for (const p of o.progarray ?? []) {
      steps.push(["progarray", "set", prefix + p.map, String(p.index), prefix + p.program]);
    }
    if (Array.isArray(attach)) {
      for (const a of attach) {
        if (typeof a === "string") steps.push(["attach", prefix + a]);
        else steps.push(["attach", prefix + a.program, ...(a.target ? [a.target] : [])]);
      }
    }
  }
  for (const r of spec.run ?? []) {
    steps.push(typeof r === "string" ? r : { sleep: r.sleep });
  }
  for (const t of list(spec.tail)) {
    const words = ["tail", t.map];
    if (t.as) words.push("--as", t.as);
    if (t.count !== undefined) words.push("--count", String(t.count));
    if (t.timeout !== undefined) words.push("--timeout", String(t.timeout));
    steps.push(words);
  }
  for (const w of list(spec.watch)) {
    const words = ["map", "watch", w.map, String(w.interval ?? 1)];
    if (w.times !== undefined) words.push("--times", String(w.times));
    if (w.top !== undefined) words.push("--top", String(w.top));
    steps.push(words);
  }
  for (const m of list(spec.dump)) steps.push(["map", "dump", m]);
  for (const m of list(spec.hist)) steps.push(["map", "hist", m]);
  return steps;
}

function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined || v === null ? [] : Array.isArray(v) ? v : [v];
}

/** A YAML value as the text a command line takes. */
function arg(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? Number(x) : x);
}

/**
 * Run a session file through the dispatcher.
 *
 * @param path The YAML file.
 * @param ctx The shell context.
 * @returns When every step has run; throws at the first failing step.
 * @example
 * ```ts
 * await runSessionFile("tests/fixtures/shell_session.yaml", ctx);
 * ```
 */
export async function runSessionFile(path: string, ctx: Ctx): Promise<void> {
  // A regular file of bounded size: a FIFO or /dev/zero must not hang or fill memory.
  const bytes = await readRegularFile(path, { op: `run '${path}'`, limit: SESSION_LIMIT });
  const { parse } = await loadYaml();
  let raw: unknown;
  try {
    raw = parse(new TextDecoder().decode(bytes), { intAsBigInt: true });
  } catch (e) {
    throw new ShellError(`'${path}' is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  let steps: ReturnType<typeof sessionCommands>;
  try {
    steps = sessionCommands(raw);
  } catch (e) {
    if (e instanceof ShellError) throw new ShellError(`'${path}': ${e.message}`, { hint: e.hint });
    throw e;
  }
  const spec = raw as SessionSpec;
  const out = ctx.out;
  if (spec.output && !out.fixedFormat) out.format = spec.output;
  for (const step of steps) {
    if (ctx.signal.aborted) break;
    let ok: boolean;
    if (typeof step === "string") ok = await ctx.dispatcher.line(step);
    else if (Array.isArray(step)) ok = await ctx.dispatcher.argv(step);
    else {
      await abortableSleep(step.sleep * 1000, ctx.signal);
      ok = true;
    }
    if (!ok) throw new ShellError(`session '${path}' stopped at: ${describe(step)}`);
  }
}

function describe(step: string[] | { sleep: number } | string): string {
  return typeof step === "string"
    ? step
    : Array.isArray(step)
    ? step.join(" ")
    : `sleep ${step.sleep}`;
}
