/**
 * Maps: `map dump|get|set|del|count|clear|watch|hist`, and `progarray` for tail calls.
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import type { BpfMap, BpfObject } from "../core.ts";
import { ShellError } from "../errors.ts";
import { log2Hist, slotsOf } from "../hist.ts";
import { formatCell, type Row } from "../output.ts";
import { parseCount, parseValue } from "../values.ts";
import { abortableSleep } from "./stream.ts";
import { loadCore } from "../core.ts";

/**
 * Register the map commands.
 *
 * @param program The root command.
 * @param ctx What the commands use.
 * @example
 * ```ts
 * register(program, ctx);
 * ```
 */
export function register(program: Command, ctx: Ctx): void {
  const { session, out } = ctx;
  const map = program.command("map").helpGroup("Maps:")
    .description("read and write map entries: dump get set del count clear watch hist");

  map.command("dump")
    .summary("print every entry (--sort value, --top N)")
    .description("print every entry (sorted by key; --sort value for the largest first)")
    .argument("<map>", "the map (name or object.name)")
    .option("--sort <by>", "key or value", "key")
    .option("--top <n>", "only the first N rows")
    .option("--pid <pid>", "a stack map: the process its user stacks belong to")
    .action((spec: string, opts: { sort: string; top?: string; pid?: string }) => {
      const m = session.map(spec).map;
      if (m.type === "stack_trace") return printStacks(ctx, m, opts.pid);
      let rows = sortedEntries(m, opts.sort);
      if (opts.top !== undefined) rows = rows.slice(0, parseCount(opts.top, "--top"));
      printEntries(ctx, rows, `${m.name} is empty`);
    });

  map.command("get")
    .description("print the value of one key")
    .argument("<map>", "the map")
    .argument("<key>", "the key: 1000, 0x10, {uid: 1}, hex:0011…")
    .action((spec: string, keyText: string) => {
      const m = session.map(spec).map;
      const key = parseValue(keyText);
      const value = m.get(key as never);
      if (value === undefined) {
        throw new ShellError(`no entry for key ${formatCell(key)} in ${m.name}`);
      }
      if (out.format === "table") out.line(formatCell(value));
      else out.record({ key, value });
    });

  map.command("set")
    .description("create or update an entry")
    .argument("<map>", "the map")
    .argument("<key>", "the key")
    .argument("<value>", "the value: 5, {count: 1}, [1, 2], hex:0011…")
    .action((spec: string, keyText: string, valueText: string) => {
      const m = session.map(spec).map;
      const key = parseValue(keyText);
      m.set(key as never, parseValue(valueText) as never);
      out.info(`${m.name}[${formatCell(key)}] = ${formatCell(m.get(key as never))}`);
    });

  map.command("del").alias("delete")
    .description("delete an entry")
    .argument("<map>", "the map")
    .argument("<key>", "the key")
    .action((spec: string, keyText: string) => {
      const m = session.map(spec).map;
      const key = parseValue(keyText);
      if (!m.delete(key as never)) {
        throw new ShellError(`no entry for key ${formatCell(key)} in ${m.name}`);
      }
      out.info(`deleted ${m.name}[${formatCell(key)}]`);
    });

  map.command("count")
    .description("print how many entries the map holds")
    .argument("<map>", "the map")
    .action((spec: string) => {
      const m = session.map(spec).map;
      const n = m.count();
      if (out.format === "table") out.line(String(n));
      else out.record({ map: m.name, count: n });
    });

  map.command("clear")
    .description("delete every entry (arrays: zero every value)")
    .argument("<map>", "the map")
    .action((spec: string) => {
      const m = session.map(spec).map;
      const n = m.clear();
      out.info(`cleared ${m.name} (${n} entries)`);
    });

  map.command("watch")
    .summary("redraw the top entries every SECONDS (top-like)")
    .description("redraw the entries, largest value first, every SECONDS until Ctrl-C")
    .argument("<map>", "the map")
    .argument("[seconds]", "the interval", "1")
    .option("--top <n>", "rows to show (default: what fits the terminal)")
    .option("--times <n>", "stop after N redraws")
    .action(async (spec: string, seconds: string, opts: { top?: string; times?: string }) => {
      const m = session.map(spec).map;
      const interval = parseCount(seconds, "SECONDS") * 1000;
      const times = opts.times === undefined ? Infinity : parseCount(opts.times, "--times");
      const redraw = out.format === "table" && ctx.interactive && Deno.stdout.isTerminal();
      for (let i = 0; i < times && !ctx.signal.aborted; i++) {
        if (i > 0) await abortableSleep(interval, ctx.signal);
        if (ctx.signal.aborted) break;
        const rows = sortedEntries(m, "value");
        const top = opts.top !== undefined
          ? parseCount(opts.top, "--top")
          : redraw
          ? Math.max(1, terminalRows() - 4)
          : Infinity;
        const time = new Date().toTimeString().slice(0, 8);
        if (out.format !== "table") {
          for (const r of rows.slice(0, top)) out.table([{ time, ...r }]);
          continue;
        }
        if (redraw) out.raw("\x1b[H\x1b[2J");
        out.line(
          out.style("bold", `${m.name}`) +
            out.style(
              "dim",
              `  ${time}  ${rows.length} entries, every ${interval / 1000}s${
                redraw ? " (Ctrl-C to stop)" : ""
              }`,
            ),
        );
        printEntries(ctx, rows.slice(0, top), "(empty)");
        if (!redraw) out.line();
      }
    });

  map.command("hist")
    .summary("log2 histogram of a bpf_log2l()-keyed map")
    .description("print a log2 histogram of a bpf_log2l()-keyed map of counts (bcc style)")
    .argument("<map>", "the map")
    .option("--label <text>", "the value column's label", "value")
    .action((spec: string, opts: { label: string }) => {
      const m = session.map(spec).map;
      const slots = slotsOf(m.entries() as Iterable<[unknown, unknown]>);
      if (out.format !== "table") {
        slots.forEach((count, slot) => {
          if (slot === 0 || count === 0) return;
          const high = 2 ** slot - 1;
          out.table([{ slot, low: slot === 1 ? 0 : 2 ** (slot - 1), high, count }]);
        });
        return;
      }
      const lines = log2Hist(slots, opts.label);
      if (!lines.length) out.line(out.style("dim", `${m.name}: no counts yet`));
      for (const l of lines) out.line(l);
    });

  program.command("progarray").helpGroup("Maps:")
    .summary("wire a tail call (list MAP lists them)")
    .description("wire tail calls: progarray [set] MAP INDEX PROG, or list a prog array")
    .argument("<args...>", "MAP INDEX PROG | set MAP INDEX PROG | list MAP | del MAP INDEX")
    .usage("[set] <map> <index> <prog> | list <map> | del <map> <index>")
    .action((args: string[]) => {
      const verb = ["set", "list", "del"].includes(args[0])
        ? args.shift()!
        : args.length === 1
        ? "list"
        : "set";
      const ref = session.map(args[0] ?? "");
      const pa = progArrayOf(ref.lo.obj, ref.map.name);
      if (verb === "list") {
        if (args.length !== 1) throw new ShellError("progarray list takes a MAP", { usage: true });
        const rows: Row[] = pa.list().map(([index, program]) => ({ index, program }));
        out.table(rows, { empty: `${ref.map.name} is empty` });
        return;
      }
      if (verb === "del") {
        if (args.length !== 2) {
          throw new ShellError("progarray del takes MAP INDEX", { usage: true });
        }
        pa.delete(parseCount(args[1], "INDEX"));
        out.info(`${ref.map.name}[${args[1]}] cleared`);
        return;
      }
      if (args.length !== 3) {
        throw new ShellError("progarray set takes MAP INDEX PROG", { usage: true });
      }
      const index = parseCount(args[1], "INDEX");
      const prog = session.prog(args[2].includes(".") ? args[2] : `${ref.lo.name}.${args[2]}`).prog;
      pa.set(index, prog);
      out.info(`${ref.map.name}[${index}] -> ${prog.name}`);
    });
}

/** One ProgArray per map and object, so `list` names the programs `set` put there. */
const progArrays = new WeakMap<object, Map<string, ReturnType<BpfObject["progArray"]>>>();

function progArrayOf(obj: BpfObject, name: string): ReturnType<BpfObject["progArray"]> {
  let byName = progArrays.get(obj);
  if (!byName) progArrays.set(obj, byName = new Map());
  let pa = byName.get(name);
  if (!pa) byName.set(name, pa = obj.progArray(name));
  return pa;
}

/** Entries as rows, sorted by key (ascending) or value (descending). */
function sortedEntries(m: BpfMap, by: string): Row[] {
  if (by !== "key" && by !== "value") {
    throw new ShellError(`--sort takes key or value, not '${by}'`, { usage: true });
  }
  const rows: Row[] = [];
  for (const [key, value] of m.entries()) rows.push({ key, value });
  const field = by === "value" ? "value" : "key";
  rows.sort((a, b) => compare(a[field], b[field]));
  if (by === "value") rows.reverse();
  return rows;
}

/** Order numbers numerically, everything else by its text. */
function compare(a: unknown, b: unknown): number {
  const na = sortNumber(a);
  const nb = sortNumber(b);
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0;
  return formatCell(a).localeCompare(formatCell(b));
}

function sortNumber(v: unknown): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "number" || typeof x === "bigint")) {
    return v.reduce((s: number, x) => s + Number(x), 0); // per-CPU: the total
  }
  return undefined;
}

/** Print entries: structs spread into columns in table mode, `{key, value}` lines in JSON. */
function printEntries(ctx: Ctx, rows: Row[], empty: string): void {
  if (ctx.out.format !== "table") return ctx.out.table(rows);
  ctx.out.table(rows.map((r) => ({ ...spread("key", r.key), ...spread("value", r.value) })), {
    empty,
  });
}

/** A stack map's stacks, symbolized: kernel ones always, user ones with `--pid`. */
async function printStacks(ctx: Ctx, m: BpfMap, pidText?: string): Promise<void> {
  const { formatFrame, isKernelAddress, stackMapEntries, Symbolizer } = await loadCore();
  const pid = pidText === undefined ? undefined : parseCount(pidText, "--pid");
  using sym = new Symbolizer();
  for (const [id, addrs] of stackMapEntries(m)) {
    const user = addrs.length > 0 && !isKernelAddress(addrs[0]);
    const frames = user && pid === undefined
      ? [...addrs].map((a) =>
        `0x${a.toString(16)} [unknown: a user stack: name its process with --pid]`
      )
      : sym.frames(pid ?? 0, addrs).map((f) => formatFrame(f));
    if (ctx.out.format !== "table") {
      ctx.out.record({ id, frames });
      continue;
    }
    ctx.out.line(`stack ${id}:`);
    for (const f of frames) ctx.out.line(`    ${f}`);
  }
}

function spread(name: string, v: unknown): Row {
  if (v && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
    const o: Row = {};
    for (const [k, x] of Object.entries(v)) o[k in o ? `${name}.${k}` : k] = x;
    return o;
  }
  return { [name]: v };
}

function terminalRows(): number {
  try {
    return Deno.consoleSize().rows;
  } catch {
    return 24;
  }
}
