/**
 * The shell's own commands: help, source, format, sleep, doctor, exit, and `pin KIND`.
 *
 * @module
 */

import { loadCore } from "../core.ts";
import type { FeatureReport } from "../../mod.ts";
import type { Output } from "../output.ts";
import { ShellError } from "../errors.ts";
import type { Format, Row } from "../output.ts";
import { loadYaml } from "../output.ts";
import { abortableSleep } from "../sleep.ts";
import { parseCount } from "../values.ts";
import { commandHelp, findCommand, overview } from "./help.ts";
import type { CommandSpec } from "./types.ts";

const GROUP = "Shell";

/** `help [COMMAND...]`. */
export const helpCommand: CommandSpec = {
  name: "help",
  group: GROUP,
  summary: "list the commands, or explain one (help map dump)",
  args: [{ name: "command", help: "a command and sub-command", variadic: true }],
  run(ctx, { args }) {
    const words = args.command as string[];
    const { out } = ctx;
    if (!words.length) {
      if (out.format === "table") return out.raw(overview(ctx.commands, out, terminalColumns()));
      return out.table(overviewRows(ctx.commands));
    }
    const found = findCommand(ctx.commands, words);
    if (!found) {
      throw new ShellError(`no command '${words.join(" ")}'`, { hint: "`help` lists them" });
    }
    if (out.format === "table") return out.raw(commandHelp(found.path, found.spec));
    out.record({
      command: found.path.join(" "),
      summary: found.spec.summary,
      description: found.spec.description ?? found.spec.summary,
      arguments: (found.spec.args ?? []).map((a) => ({ ...a })),
      options: found.spec.options ?? {},
      subcommands: (found.spec.subcommands ?? []).map((s) => s.name),
    });
  },
};

/** The overview as rows, for `help --json`. */
function overviewRows(commands: readonly CommandSpec[]): Row[] {
  const rows: Row[] = [];
  for (const c of commands) {
    const entries = c.subcommands?.length
      ? c.subcommands.map((s) => [s, `${c.name} ${s.name}`])
      : [];
    if (c.run || !entries.length) entries.unshift([c, c.name]);
    for (const [s, name] of entries as [CommandSpec, string][]) {
      rows.push({ group: c.group, command: name, summary: s.summary, aliases: s.topAliases ?? [] });
    }
  }
  return rows;
}

/** `source FILE`. */
export const sourceCommand: CommandSpec = {
  name: "source",
  group: GROUP,
  summary: "run a file of commands",
  description: "run the commands of a file, one per line (stops at the first error)",
  args: [{ name: "file", help: "a file of commands", required: true, complete: "any-file" }],
  async run(ctx, { args }) {
    const file = args.file as string;
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new ShellError(`cannot read '${file}': ${(e as Error).message}`);
    }
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (ctx.signal.aborted) break;
      const ok = await ctx.dispatcher.line(lines[i]);
      if (!ok) throw new ShellError(`stopped at ${file}:${i + 1}`);
      if (ctx.dispatcher.exitCode !== undefined) break;
    }
  },
};

/** `format [table|json|yaml]` (also `format --json`). */
export const formatCommand: CommandSpec = {
  name: "format",
  group: GROUP,
  summary: "show or set the output format",
  description: "show or set the output format for the rest of the session " +
    "(`format json` or `format --json`)",
  args: [{ name: "format", help: "table, json or yaml" }],
  raw: true,
  async run({ out }, { positionals }) {
    if (positionals.length > 1) throw new ShellError("format takes one format", { usage: true });
    const f = positionals[0];
    if (f === undefined) return out.line(out.format);
    const flag = f.replace(/^--/, "");
    if (!["table", "json", "yaml"].includes(flag)) {
      throw new ShellError(`unknown format '${f}'`, { hint: "table, json or yaml", usage: true });
    }
    if (flag === "yaml") await loadYaml();
    out.format = flag as Format;
  },
};

/** `sleep SECONDS`. */
export const sleepCommand: CommandSpec = {
  name: "sleep",
  group: GROUP,
  summary: "wait SECONDS (fractions allowed; Ctrl-C ends the wait)",
  args: [{ name: "seconds", help: "how long", required: true }],
  async run(ctx, { args }) {
    await abortableSleep(parseCount(args.seconds as string, "SECONDS") * 1000, ctx.signal);
  },
};

/** `doctor`. */
export const doctorCommand: CommandSpec = {
  name: "doctor",
  group: GROUP,
  summary: "what this kernel supports",
  description: "probe what this kernel and machine support (program/map types, tools)",
  async run({ out }) {
    const { features } = await loadCore();
    const report = await features();
    if (out.format !== "table") return out.record(report as unknown as Row);
    out.raw(doctorText(report, out));
  },
};

/** `exit [STATUS]`. */
export const exitCommand: CommandSpec = {
  name: "exit",
  aliases: ["quit"],
  group: GROUP,
  summary: "detach and close everything, and leave (also Ctrl-D)",
  args: [{ name: "status", help: "the exit status", default: "0" }],
  run(ctx, { args }) {
    ctx.dispatcher.exitCode = Number(args.status) || 0;
  },
};

/** `pin KIND NAME PATH`: the older spelling of `map pin`, `prog pin` and `link pin`. */
export const pinCommand: CommandSpec = {
  name: "pin",
  group: "Objects",
  summary: "pin a map, program or link (as map pin, prog pin, link pin)",
  args: [
    { name: "kind", help: "map, prog or link", required: true },
    { name: "name", help: "its name (a link's id)", required: true },
    { name: "path", help: "a path under /sys/fs/bpf", required: true, complete: "bpffs" },
  ],
  async run(ctx, { args }) {
    const kind = args.kind === "program" ? "prog" : args.kind as string;
    if (!["map", "prog", "link"].includes(kind)) {
      throw new ShellError(`cannot pin a '${kind}'`, {
        hint: "pin map|prog|link NAME PATH",
        usage: true,
      });
    }
    await ctx.dispatcher.exec([kind, "pin", args.name as string, args.path as string]);
  },
};

/**
 * The doctor's report as text: the machine, then what works by kind, then what is missing
 * with the reason and what to use instead.
 *
 * @param r The report of features().
 * @param out The printer (for styles).
 * @returns The text.
 * @example
 * ```ts
 * out.raw(doctorText(await features(), out));
 * ```
 */
export function doctorText(r: FeatureReport, out: Output): string {
  const caps = Object.entries(r.privileges)
    .filter(([k, v]) => k.startsWith("cap") && v)
    .map(([k]) => "CAP_" + k.slice(3).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase());
  const mount = (m: { path?: string; mounted: boolean; mountedNow: boolean; error?: string }) =>
    m.mounted
      ? `${m.path}${m.mountedNow ? " (mounted just now)" : ""}`
      : `not mounted${m.error ? `: ${m.error}` : ""}`;
  const lines: [string, string][] = [
    ["kernel", `${r.kernel.release} ${r.kernel.arch}`],
    ["libbpf", r.libbpf],
    [
      "BTF",
      r.btf
        ? "/sys/kernel/btf/vmlinux (CO-RE works)"
        : out.style("red", "missing (CO-RE programs cannot load)"),
    ],
    ["tracefs", mount(r.tracefs)],
    ["bpffs", mount(r.bpffs)],
    [
      "privileges",
      `${r.privileges.root ? "root" : `uid ${r.privileges.uid}`}${
        caps.length ? ` (${caps.join(" ")})` : ""
      }`,
    ],
  ];
  const kinds: [string, string][] = [["program", "programs"], ["map", "maps"], [
    "helper",
    "helpers",
  ]];
  const unprobed = r.features.filter((f) => f.probed === false);
  for (const [kind, title] of kinds) {
    const all = r.features.filter((f) => f.kind === kind);
    const ok = all.filter((f) => f.ok).map((f) => f.name);
    if (!all.length) continue;
    const skipped = all.filter((f) => f.probed === false).length;
    const works = kind !== "helper"
      ? ok.join(" ")
      : ok.length || !skipped
      ? `${ok.length} of ${all.length} work`
      : "";
    lines.push([title, skipped ? `${works}${works ? ", " : ""}${skipped} not probed` : works]);
  }
  const width = Math.max(40, terminalColumns() - 13);
  let text = lines.map(([k, v]) => `${out.style("bold", k.padEnd(11))} ${wrap(v, width, 12)}`)
    .join("\n") + "\n";
  const missing = r.features.filter((f) => !f.ok && f.probed !== false);
  if (unprobed.length) {
    // One line, not one per probe: the cause is the same for all of them.
    text += "\n" + out.style("bold", "not probed") + ` (${unprobed.length}): ` +
      `${unprobed[0].reason?.replace(/^not probed: /, "")}\n`;
  }
  if (missing.length) {
    text += "\n" + out.style("bold", "missing") + "\n";
    for (const f of missing) {
      const since = f.minKernel ? ` (${f.kind}, Linux ${f.minKernel}+)` : ` (${f.kind})`;
      text += `  ${out.style("yellow", f.name)}${out.style("dim", since)}: ${
        f.reason ?? "not supported"
      }\n`;
      if (f.alternative) text += `    ${out.style("green", "use instead:")} ${f.alternative}\n`;
      if (f.fallback) text += `    ${out.style("green", "falls back:")} ${f.fallback}\n`;
    }
  }
  text += out.style("dim", `probed in ${Math.round(r.ms)} ms`) + "\n";
  return text;
}

/** Wrap words at `width`, indenting continuation lines. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join("\n" + " ".repeat(indent));
}

function terminalColumns(): number {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 100;
  } catch {
    return 100;
  }
}
