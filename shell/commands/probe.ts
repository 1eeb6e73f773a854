/**
 * `probe 'PROGRAM' [args]`: a bpftrace program started inside the session. Its maps join
 * the session (`maps`, `map dump @name`, `map watch`, `map hist @name` in bpftrace's format,
 * JavaScript as `at_name`), printf output streams until Ctrl-C (the program keeps running),
 * exit() stops it and prints its maps as bpftrace does, and `unload` frees it.
 *
 * @module
 */

import type { BpfMap } from "../core.ts";
import { loadCore } from "../core.ts";
import { ShellError } from "../errors.ts";
import type { CommandSpec } from "./types.ts";
import { formatMap } from "../../probe/format/text.ts";
import type { MapDescriptor } from "../../probe/runner.ts";

/** The descriptors of the maps of the probe programs started in this process. */
const descriptors = new WeakMap<BpfMap, MapDescriptor>();

/**
 * A probe program's hist() or lhist() map as bpftrace prints it (for `map hist`).
 *
 * @param map A map of the session.
 * @returns The text, or undefined when the map is not a probe program's histogram.
 * @example
 * ```ts
 * const text = probeMapText(session.map("@lat").map);
 * ```
 */
export function probeMapText(map: BpfMap): string | undefined {
  const d = descriptors.get(map);
  if (!d || (d.kind !== "hist" && d.kind !== "lhist")) return undefined;
  return formatMap(d.read());
}

/** `probe 'PROGRAM' [args...] [--name NAME]`. */
export const probeCommand: CommandSpec = {
  name: "probe",
  group: "Programs",
  summary: "run a bpftrace program in the session",
  description:
    "compile and start a bpftrace program (or a .bt file): printf output streams until Ctrl-C " +
    "(the program keeps running), exit() stops it and prints its maps; `unload NAME` frees it",
  args: [
    {
      name: "program",
      help: "the program, quoted (or a .bt file)",
      required: true,
      complete: "probe-program",
    },
    { name: "params", help: "positional parameters $1, $2, ...", variadic: true, complete: "none" },
  ],
  options: { name: { type: "string", help: "the session name (default: probe)" } },
  async run({ session, out, signal }, { args, opts }) {
    let text = args.program as string;
    const params = (args.params as string[] | undefined) ?? [];
    if (/\.bt$/.test(text) && !text.includes("{")) {
      try {
        text = await Deno.readTextFile(text);
      } catch (e) {
        throw new ShellError(`cannot read '${text}': ${(e as Error).message}`);
      }
    }
    const { startProbe } = await loadCore();
    const json = out.format === "json";
    let streaming = true;
    // The C back end: its BpfObject joins the session (maps, progs, pins, unload).
    const p = await startProbe(text, {
      backend: "c",
      params,
      name: "stdin",
      format: json ? "json" : "text",
      onOutput: (s) => {
        if (streaming) out.raw(s);
      },
      onAttaching: (n) => {
        if (!json) out.raw(`Attaching ${n} probe${n === 1 ? "" : "s"}...\n`);
      },
    });
    const lo = session.add("probe", p.object, opts.name as string | undefined);
    for (const d of p.descriptors) descriptors.set(d.map, d);
    const exited = await Promise.race([
      p.exited.then(() => true),
      new Promise<boolean>((r) => {
        if (signal.aborted) r(false);
        signal.addEventListener("abort", () => r(false), { once: true });
      }),
    ]);
    streaming = false;
    if (exited) {
      await p.stop();
      if (json) { for (const line of p.printJson()) out.line(line); }
      else out.raw("\n\n" + p.print());
      out.info(`${lo.name} stopped; its maps stay readable until \`unload ${lo.name}\``);
    } else {
      const maps = p.descriptors.map((d) => `${d.name} as ${d.bpfName}`).join(", ") || "none";
      out.info(`${lo.name} keeps running (maps: ${maps}); \`unload ${lo.name}\` stops it`);
    }
  },
};

/**
 * Tab completion of probe names inside a `probe` program: the attach point being typed.
 *
 * @param current The word being completed (may start with a quote).
 * @returns Candidates, quote kept.
 * @example
 * ```ts
 * await completeProbeWord("'tracepoint:sched:sched_process_ex");
 * // ["'tracepoint:sched:sched_process_exec", "'tracepoint:sched:sched_process_exit"]
 * ```
 */
export async function completeProbeWord(current: string): Promise<string[]> {
  const quote = /^['"]/.test(current) ? current[0] : "";
  const word = current.slice(quote.length);
  if (/[{}/;()]/.test(word)) return [];
  const providers = [
    "BEGIN",
    "END",
    "tracepoint:",
    "rawtracepoint:",
    "uprobe:",
    "uretprobe:",
    "profile:hz:",
    "interval:s:",
    "interval:ms:",
    "kprobe:",
    "kfunc:",
  ];
  if (!word.includes(":")) return providers.filter((p) => p.startsWith(word)).map((p) => quote + p);
  if (!/^(tracepoint|t|rawtracepoint|rt|uprobe|u|uretprobe|ur|kfunc|f):/.test(word)) return [];
  if (/^u(ret)?probe:|^ur?:/.test(word) && word.split(":").length < 3) return [];
  const { listProbes } = await import(
    new URL("../../probe/listing.ts", import.meta.url).href
  ) as typeof import("../../probe/listing.ts");
  let names: string[];
  try {
    names = listProbes(`${word}*`).map((p) => p.name);
  } catch {
    return [];
  }
  const alias = /^(t|rt|u|ur|f):/.exec(word)?.[1];
  return names.slice(0, 2000).map((n) =>
    quote + (alias ? `${alias}:${n.slice(n.indexOf(":") + 1)}` : n)
  );
}
