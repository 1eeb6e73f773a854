/**
 * The shell's own commands: help, source, format, doctor, exit.
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { loadCore } from "../core.ts";
import type { FeatureReport } from "../../mod.ts";
import type { Output } from "../output.ts";
import { ShellError } from "../errors.ts";
import type { Format, Row } from "../output.ts";
import { loadYaml } from "../output.ts";

/**
 * Register help, source, format, doctor, exit.
 *
 * @param program The root command.
 * @param ctx What the commands use.
 * @example
 * ```ts
 * register(program, ctx);
 * ```
 */
export function register(program: Command, ctx: Ctx): void {
  const { out } = ctx;
  const group = "Shell:";

  program.command("help").helpGroup(group)
    .description("list the commands, or explain one (help map dump)")
    .argument("[command...]", "a command and sub-command")
    .action((words: string[]) => {
      if (!words.length) return out.raw(overview(program, ctx));
      let cmd: Command | undefined = program;
      for (const w of words) {
        cmd = cmd.commands.find((c: Command) => c.name() === w || c.aliases().includes(w));
        if (!cmd) {
          throw new ShellError(`no command '${words.join(" ")}'`, { hint: "`help` lists them" });
        }
      }
      cmd.outputHelp();
    });

  program.command("source").helpGroup(group)
    .summary("run a file of commands")
    .description("run the commands of a file, one per line (stops at the first error)")
    .argument("<file>", "a file of commands")
    .action(async (file: string) => {
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
    });

  program.command("format").helpGroup(group)
    .summary("show or set the output format")
    .description("show or set the output format for the rest of the session")
    .argument("[format]", "table, json or yaml")
    .action(async (f?: string) => {
      if (f === undefined) return out.line(out.format);
      const flag = f.replace(/^--/, "");
      if (!["table", "json", "yaml"].includes(flag)) {
        throw new ShellError(`unknown format '${f}'`, { hint: "table, json or yaml", usage: true });
      }
      if (flag === "yaml") await loadYaml();
      out.format = flag as Format;
    });

  program.command("doctor").helpGroup(group)
    .summary("what this kernel supports")
    .description("probe what this kernel and machine support (program/map types, tools)")
    .action(async () => {
      const { features } = await loadCore();
      const report = await features();
      if (out.format !== "table") return out.record(report as unknown as Row);
      out.raw(doctorText(report, out));
    });

  program.command("exit").alias("quit").helpGroup(group)
    .description("detach and close everything, and leave (also Ctrl-D)")
    .argument("[status]", "the exit status", "0")
    .action((status: string) => {
      ctx.dispatcher.exitCode = Number(status) || 0;
    });
}

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
  for (const [kind, title] of kinds) {
    const all = r.features.filter((f) => f.kind === kind);
    const ok = all.filter((f) => f.ok).map((f) => f.name);
    if (!all.length) continue;
    lines.push([title, kind === "helper" ? `${ok.length} of ${all.length} work` : ok.join(" ")]);
  }
  const width = Math.max(40, terminalColumns() - 13);
  let text = lines.map(([k, v]) => `${out.style("bold", k.padEnd(11))} ${wrap(v, width, 12)}`)
    .join("\n") + "\n";
  const missing = r.features.filter((f) => !f.ok);
  if (missing.length) {
    text += "\n" + out.style("bold", "missing") + "\n";
    for (const f of missing) {
      const since = f.minKernel ? ` (${f.kind}, Linux ${f.minKernel}+)` : ` (${f.kind})`;
      text += `  ${out.style("yellow", f.name)}${out.style("dim", since)}: ${
        f.reason ?? "not supported"
      }\n`;
      if (f.alternative) text += `    ${out.style("green", "use instead:")} ${f.alternative}\n`;
    }
  }
  text += out.style("dim", `probed in ${Math.round(r.ms)} ms`) + "\n";
  return text;
}

/** The `help` overview: commands grouped, with their arguments and one line each. */
function overview(program: Command, ctx: Ctx): string {
  const groups = new Map<string, [string, string][]>();
  const argsOf = (c: Command) =>
    c.registeredArguments.map((a) => {
      const n = a.name() + (a.variadic ? "..." : "");
      return a.required ? `<${n}>` : `[${n}]`;
    }).join(" ");
  for (const c of program.commands) {
    const g = c.helpGroup() || "Other:";
    const list = groups.get(g) ?? [];
    const entries: [Command, string][] = c.commands.length
      ? c.commands.map((s) => [s, `${c.name()} ${s.name()}`])
      : [[c, c.name()]];
    for (const [cmd, name] of entries) {
      const usage = cmd.name() === "progarray" || cmd.name() === "btf"
        ? `${name} ${cmd.usage().replace(/\s*\[--object NAME\]/, "").split(" | ")[0]}`
        : `${name} ${argsOf(cmd)}`;
      list.push([usage.trim(), cmd.summary() || cmd.description()]);
    }
    groups.set(g, list);
  }
  const w = Math.min(32, Math.max(...[...groups.values()].flat().map(([u]) => u.length)));
  const cols = terminalColumns();
  let text = "";
  for (const [g, list] of groups) {
    text += ctx.out.style("bold", g) + "\n";
    for (const [u, d] of list) {
      const room = Math.max(20, cols - w - 5);
      const desc = d.length > room ? d.slice(0, room - 1) + "…" : d;
      text += u.length > w
        ? `  ${u}\n  ${" ".repeat(w)}  ${ctx.out.style("dim", desc)}\n`
        : `  ${u.padEnd(w)}  ${ctx.out.style("dim", desc)}\n`;
    }
  }
  text += "\nAny other line is JavaScript over the session: obj, objects, maps, progs, links,\n" +
    "each map and program by name, and the mod.ts API (await works).\n" +
    "Add --json or --yaml to any command. Ctrl-C stops tail/trace/watch; Ctrl-D or exit leaves.\n" +
    "help CMD explains one command.\n";
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
