/**
 * The shell's own commands: help, source, format, doctor, exit.
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { coreExport } from "../core.ts";
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
      out.raw(cmd.helpInformation());
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
      const features = await coreExport<() => Promise<unknown>>("features");
      const report = await features();
      out.table(featureRows(report));
    });

  program.command("exit").alias("quit").helpGroup(group)
    .description("detach and close everything, and leave (also Ctrl-D)")
    .argument("[status]", "the exit status", "0")
    .action((status: string) => {
      ctx.dispatcher.exitCode = Number(status) || 0;
    });
}

/**
 * Rows of a features() report, whatever its exact shape: a list of rows, or an object of
 * booleans / `{supported, detail}` records (nested groups are flattened as `group.name`).
 *
 * @param report What features() returned.
 * @returns One row per feature.
 * @example
 * ```ts
 * featureRows({ ringbuf: true }); // [{ feature: "ringbuf", status: "ok" }]
 * ```
 */
export function featureRows(report: unknown): Row[] {
  if (Array.isArray(report)) return report as Row[];
  const rows: Row[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === "boolean") {
      rows.push({ feature: prefix, status: v ? "ok" : "missing" });
    } else if (v && typeof v === "object" && !Array.isArray(v)) {
      const rec = v as Row;
      if ("supported" in rec || "ok" in rec) {
        const ok = Boolean(rec.supported ?? rec.ok);
        const { supported: _s, ok: _o, ...rest } = rec;
        rows.push({ feature: prefix, status: ok ? "ok" : "missing", ...rest });
      } else {
        for (const [k, x] of Object.entries(rec)) walk(prefix ? `${prefix}.${k}` : k, x);
      }
    } else {
      rows.push({ feature: prefix, status: v });
    }
  };
  walk("", report);
  return rows;
}

/** The `help` overview: commands grouped, with their arguments and one line each. */
function overview(program: Command, ctx: Ctx): string {
  const groups = new Map<string, [string, string][]>();
  const argsOf = (c: Command) => c.registeredArguments.map((a) => {
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

function terminalColumns(): number {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 100;
  } catch {
    return 100;
  }
}
