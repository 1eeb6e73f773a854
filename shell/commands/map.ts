/**
 * `map list|dump|get|set|del|count|clear|watch|hist|pin` (also `maps`), and `progarray` for
 * tail calls.
 *
 * @module
 */

import { type BpfMap, type BpfObject, loadCore } from "../core.ts";
import { ShellError } from "../errors.ts";
import { log2Hist, slotsOf } from "../hist.ts";
import { probeMapText } from "./probe.ts";
import { formatCell, type Row } from "../output.ts";
import { abortableSleep } from "../sleep.ts";
import { parseCount, parseValue } from "../values.ts";
import type { CommandSpec, Ctx } from "./types.ts";
import { kernelId } from "../../bpf/system/files.ts";
import { safe } from "./util.ts";

const MAP_ARG = { name: "map", help: "the map (name or object.name)", required: true };

/** `map watch`: redraw the entries every SECONDS, as they are or as changes. */
const watchCommand: CommandSpec = {
  name: "watch",
  summary: "redraw the top entries every SECONDS (--delta, --rate)",
  description: "every SECONDS, redraw the entries largest value first, until Ctrl-C: the values" +
    " (default), their change since the last redraw (--delta) or that change per second (--rate)",
  args: [MAP_ARG, { name: "seconds", help: "the interval", default: "1" }],
  options: {
    top: { type: "string", arg: "N", help: "rows to show (default: what fits the terminal)" },
    times: { type: "string", arg: "N", help: "stop after N redraws" },
    delta: { type: "boolean", help: "show how much each value grew since the last redraw" },
    rate: { type: "boolean", help: "show each value's growth per second" },
  },
  helpText: `
Examples:
  map watch counts 5 --times 1        the values after 5 seconds
  map watch counts 1 --rate           events per second, every second (a tracepoint's rate)
`,
  async run(ctx, { args, opts }) {
    const { session, out } = ctx;
    const m = session.map(args.map as string).map;
    const interval = parseCount(args.seconds as string, "SECONDS") * 1000;
    if (interval <= 0) throw new ShellError("SECONDS must be more than 0", { usage: true });
    const times = opts.times === undefined ? Infinity : parseCount(opts.times as string, "--times");
    const mode = opts.rate ? "rate" : opts.delta ? "delta" : "value";
    const redraw = out.format === "table" && ctx.interactive && Deno.stdout.isTerminal();
    // Every redraw comes one interval after the previous one (the first after one interval):
    // `--times 1` is "what the map holds after SECONDS", and a delta needs two samples.
    let previous = mode === "value" ? undefined : snapshot(m);
    let then = performance.now();
    for (let i = 0; i < times; i++) {
      if (await abortableSleep(interval, ctx.signal)) break;
      const now = performance.now();
      let rows = sortedEntries(m, "value");
      if (previous) {
        const current = new Map(rows.map((r) => [formatCell(r.key), r.value]));
        const seconds = (now - then) / 1000;
        rows = rows.map((r) => ({
          key: r.key,
          value: change(r.value, previous!.get(formatCell(r.key)), mode === "rate" ? seconds : 0),
        }));
        rows.sort((a, b) => compare(b.value, a.value));
        previous = current;
      }
      then = now;
      const top = opts.top !== undefined
        ? parseCount(opts.top as string, "--top")
        : redraw
        ? Math.max(1, terminalRows() - 4)
        : Infinity;
      const time = new Date().toTimeString().slice(0, 8);
      if (out.format !== "table") {
        for (const r of rows.slice(0, top)) out.table([{ time, ...r }]);
        continue;
      }
      if (redraw) out.raw("\x1b[H\x1b[2J");
      const what = mode === "rate" ? "per second" : mode === "delta" ? "change" : "";
      out.line(
        out.style("bold", m.name) + out.style(
          "dim",
          `  ${time}  ${rows.length} entries${what ? `, ${what}` : ""}, every ${interval / 1000}s${
            redraw ? " (Ctrl-C to stop)" : ""
          }`,
        ),
      );
      printEntries(ctx, rows.slice(0, top), "(empty)");
      if (!redraw) out.line();
    }
  },
};

/** `map …`. */
export const mapCommand: CommandSpec = {
  name: "map",
  group: "Maps",
  summary: "list maps and read or write their entries",
  defaultSubcommand: "list",
  subcommands: [
    {
      name: "list",
      aliases: ["show"],
      topAliases: ["maps"],
      summary: "list the maps of the loaded objects",
      args: [{ name: "object", help: "only this object" }],
      run({ session, out }, { args }) {
        const name = args.object as string | undefined;
        if (name !== undefined) session.object(name);
        const refs = session.allMaps().filter((r) => !name || r.lo.name === name);
        out.table(
          refs.map(({ lo, map }) => ({
            object: lo.name,
            id: safe(() => kernelId(map.fd, "map_id")),
            name: map.name,
            type: map.type,
            key: map.keySize ? safe(() => map.keyType) : undefined,
            value: map.valueSize ? safe(() => map.valueType) : undefined,
            max: map.maxEntries,
          })),
          { empty: "no maps (load FILE)" },
        );
      },
    },
    {
      name: "dump",
      summary: "print every entry (--sort value, --top N)",
      description: "print every entry (sorted by key; --sort value for the largest first)",
      args: [MAP_ARG],
      options: {
        sort: { type: "string", help: "key or value", default: "key", complete: "sort" },
        top: { type: "string", arg: "N", help: "only the first N rows" },
        pid: {
          type: "string",
          arg: "PID",
          help: "a stack map: the process its user stacks belong to",
        },
      },
      run(ctx, { args, opts }) {
        const m = ctx.session.map(args.map as string).map;
        if (m.type === "stack_trace") return printStacks(ctx, m, opts.pid as string | undefined);
        let rows = sortedEntries(m, opts.sort as string);
        if (opts.top !== undefined) rows = rows.slice(0, parseCount(opts.top as string, "--top"));
        printEntries(ctx, rows, `${m.name} is empty`);
      },
    },
    {
      name: "get",
      aliases: ["lookup"],
      summary: "print the value of one key",
      args: [MAP_ARG, {
        name: "key",
        help: "the key: 1000, 0x10, {uid: 1}, hex:0011…",
        required: true,
      }],
      run({ session, out }, { args }) {
        const m = session.map(args.map as string).map;
        const key = parseValue(args.key as string);
        const value = m.get(key as never);
        if (value === undefined) {
          throw new ShellError(`no entry for key ${formatCell(key)} in ${m.name}`);
        }
        if (out.format === "table") out.line(formatCell(value));
        else out.record({ key, value });
      },
    },
    {
      name: "set",
      aliases: ["update"],
      summary: "create or update an entry",
      args: [
        MAP_ARG,
        { name: "key", help: "the key", required: true },
        { name: "value", help: "the value: 5, {count: 1}, [1, 2], hex:0011…", required: true },
      ],
      run({ session, out }, { args }) {
        const m = session.map(args.map as string).map;
        const key = parseValue(args.key as string);
        m.set(key as never, parseValue(args.value as string) as never);
        out.info(`${m.name}[${formatCell(key)}] = ${formatCell(m.get(key as never))}`);
      },
    },
    {
      name: "del",
      aliases: ["delete"],
      summary: "delete an entry",
      args: [MAP_ARG, { name: "key", help: "the key", required: true }],
      run({ session, out }, { args }) {
        const m = session.map(args.map as string).map;
        const key = parseValue(args.key as string);
        if (!m.delete(key as never)) {
          throw new ShellError(`no entry for key ${formatCell(key)} in ${m.name}`);
        }
        out.info(`deleted ${m.name}[${formatCell(key)}]`);
      },
    },
    {
      name: "count",
      summary: "print how many entries the map holds",
      args: [MAP_ARG],
      run({ session, out }, { args }) {
        const m = session.map(args.map as string).map;
        const n = m.count();
        if (out.format === "table") out.line(String(n));
        else out.record({ map: m.name, count: n });
      },
    },
    {
      name: "clear",
      summary: "delete every entry (arrays: zero every value)",
      args: [MAP_ARG],
      run({ session, out }, { args }) {
        const m = session.map(args.map as string).map;
        const n = m.clear();
        out.info(`cleared ${m.name} (${n} entries)`);
      },
    },
    watchCommand,
    {
      name: "hist",
      summary: "log2 histogram of a bpf_log2l()-keyed map",
      description: "print a log2 histogram of a bpf_log2l()-keyed map of counts (bcc style)",
      args: [MAP_ARG],
      options: { label: { type: "string", help: "the value column's label", default: "value" } },
      run({ session, out }, { args, opts }) {
        const m = session.map(args.map as string).map;
        // A probe program's hist()/lhist() prints as bpftrace prints it.
        const probeHist = probeMapText(m);
        if (probeHist !== undefined) return out.raw(probeHist);
        const slots = slotsOf(m.entries() as Iterable<[unknown, unknown]>);
        if (out.format !== "table") {
          slots.forEach((count, slot) => {
            if (slot === 0 || count === 0) return;
            const high = 2 ** slot - 1;
            out.table([{ slot, low: slot === 1 ? 0 : 2 ** (slot - 1), high, count }]);
          });
          return;
        }
        const lines = log2Hist(slots, opts.label as string);
        if (!lines.length) out.line(out.style("dim", `${m.name}: no counts yet`));
        for (const l of lines) out.line(l);
      },
    },
    {
      name: "pin",
      summary: "pin a map to bpffs so it outlives the shell",
      args: [MAP_ARG, { name: "path", help: "a path under /sys/fs/bpf", required: true }],
      run({ session, out }, { args }) {
        const { map } = session.map(args.map as string);
        map.pin(args.path as string);
        out.info(`pinned map ${map.name} at ${args.path}`);
      },
    },
  ],
};

const PROGARRAY_ARG = {
  name: "map",
  help: "a prog_array map",
  required: true,
  complete: "progarray",
};

/** `progarray set|list|del` (and the short forms `progarray MAP INDEX PROG`, `progarray MAP`). */
export const progarrayCommand: CommandSpec = {
  name: "progarray",
  group: "Maps",
  summary: "wire tail calls: set MAP INDEX PROG, list MAP, del MAP INDEX",
  args: [{ name: "args", help: "MAP INDEX PROG (set) or MAP (list)", variadic: true }],
  run(ctx, { args }) {
    const words = args.args as string[];
    if (words.length === 1) return listProgArray(ctx, words[0]);
    if (words.length === 3) return setProgArray(ctx, words[0], words[1], words[2]);
    throw new ShellError("progarray takes MAP INDEX PROG, or MAP to list it", { usage: true });
  },
  subcommands: [
    {
      name: "set",
      summary: "put a program at an index of a prog_array",
      args: [
        PROGARRAY_ARG,
        { name: "index", help: "the index", required: true },
        { name: "prog", help: "the program", required: true },
      ],
      run: (ctx, { args }) =>
        setProgArray(ctx, args.map as string, args.index as string, args.prog as string),
    },
    {
      name: "list",
      summary: "list the programs of a prog_array",
      args: [PROGARRAY_ARG],
      run: (ctx, { args }) => listProgArray(ctx, args.map as string),
    },
    {
      name: "del",
      aliases: ["delete"],
      summary: "clear an index of a prog_array",
      args: [PROGARRAY_ARG, { name: "index", help: "the index", required: true }],
      run(ctx, { args }) {
        const ref = ctx.session.map(args.map as string);
        progArrayOf(ref.lo.obj, ref.map.name).delete(parseCount(args.index as string, "INDEX"));
        ctx.out.info(`${ref.map.name}[${args.index}] cleared`);
      },
    },
  ],
};

function listProgArray(ctx: Ctx, spec: string): void {
  const ref = ctx.session.map(spec);
  const rows: Row[] = progArrayOf(ref.lo.obj, ref.map.name).list().map(([index, program]) => ({
    index,
    program,
  }));
  ctx.out.table(rows, { empty: `${ref.map.name} is empty` });
}

function setProgArray(ctx: Ctx, spec: string, indexText: string, progSpec: string): void {
  const ref = ctx.session.map(spec);
  const pa = progArrayOf(ref.lo.obj, ref.map.name);
  const index = parseCount(indexText, "INDEX");
  // A bare program name means the prog_array's own object first.
  const prog = ctx.session.prog(progSpec.includes(".") ? progSpec : `${ref.lo.name}.${progSpec}`)
    .prog;
  pa.set(index, prog);
  ctx.out.info(`${ref.map.name}[${index}] -> ${prog.name}`);
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

/** The values of a map by key text, for `watch --delta/--rate`. */
function snapshot(m: BpfMap): Map<string, unknown> {
  const s = new Map<string, unknown>();
  for (const [key, value] of m.entries()) s.set(formatCell(key), value);
  return s;
}

/**
 * How much a value grew: numbers (per-CPU lists summed) and every numeric field of a struct;
 * other fields as they are now. With `seconds`, the growth per second.
 */
export function change(now: unknown, before: unknown, seconds = 0): unknown {
  const total = sum(now);
  if (total !== undefined) {
    const d = Number(total) - Number(sum(before) ?? 0);
    return seconds
      ? Math.round((d / seconds) * 10) / 10
      : (typeof total === "bigint" ? total - BigInt(sum(before) ?? 0n) : d);
  }
  if (now && typeof now === "object" && !ArrayBuffer.isView(now) && !Array.isArray(now)) {
    const prev = (before && typeof before === "object" ? before : {}) as Row;
    const o: Row = {};
    for (const [k, v] of Object.entries(now)) o[k] = change(v, prev[k], seconds);
    return o;
  }
  return now;
}

/** A number, or the sum of a per-CPU list of numbers; undefined for anything else. */
function sum(v: unknown): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (Array.isArray(v) && v.length && v.every((x) => typeof x === "bigint")) {
    return v.reduce((s: bigint, x: bigint) => s + x, 0n);
  }
  if (Array.isArray(v) && v.length && v.every((x) => typeof x === "number")) {
    return v.reduce((s: number, x: number) => s + x, 0);
  }
  return undefined;
}

/** Order numbers numerically, everything else by its text. */
function compare(a: unknown, b: unknown): number {
  const na = sum(a);
  const nb = sum(b);
  if (na !== undefined && nb !== undefined) return na < nb ? -1 : na > nb ? 1 : 0;
  return formatCell(a).localeCompare(formatCell(b));
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
