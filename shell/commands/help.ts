/**
 * Reading the command table: which command words name (following aliases), and the help made
 * from the declarations — the overview, one command's help, and its usage line.
 *
 * @module
 */

import { argsUsage, optionRows, twoColumns } from "../args.ts";
import type { Output } from "../output.ts";
import type { CommandSpec } from "./types.ts";

/** A command found in the table. */
export interface Found {
  /** Its words, canonical: `["map", "dump"]`, also when typed as an alias (`maps`). */
  path: string[];
  /** Its declaration. */
  spec: CommandSpec;
  /** How many of the words named it (the rest are its arguments). */
  used: number;
}

/**
 * The top-level words of the table: command names, their aliases and the sub-commands'
 * top-level aliases (`maps` for `map list`), each with the path it stands for.
 *
 * @param commands The table.
 * @returns Word to canonical path.
 * @example
 * ```ts
 * topWords(COMMANDS).get("maps"); // ["map", "list"]
 * ```
 */
export function topWords(commands: readonly CommandSpec[]): Map<string, string[]> {
  const words = new Map<string, string[]>();
  for (const c of commands) {
    for (const w of [c.name, ...(c.aliases ?? [])]) words.set(w, [c.name]);
  }
  for (const c of commands) {
    for (const s of c.subcommands ?? []) {
      for (const w of s.topAliases ?? []) if (!words.has(w)) words.set(w, [c.name, s.name]);
    }
  }
  return words;
}

/**
 * The command that words name, following aliases at every level.
 *
 * @param commands The table.
 * @param words What was typed: the command words, then its arguments.
 * @returns The command, or undefined when the first word names none.
 * @example
 * ```ts
 * findCommand(COMMANDS, ["maps"])?.path; // ["map", "list"]
 * findCommand(COMMANDS, ["map", "dump", "counts"])?.used; // 2
 * ```
 */
export function findCommand(
  commands: readonly CommandSpec[],
  words: readonly string[],
): Found | undefined {
  const path = topWords(commands).get(words[0]);
  if (!path) return undefined;
  let spec = commands.find((c) => c.name === path[0])!;
  if (path.length === 2) spec = spec.subcommands!.find((s) => s.name === path[1])!;
  const found: Found = { path: [...path], spec, used: 1 };
  // Descend while the next word names a sub-command.
  for (;;) {
    const next = words[found.used];
    const sub = found.spec.subcommands?.find((s) => s.name === next || s.aliases?.includes(next));
    if (!sub) break;
    found.spec = sub;
    found.path.push(sub.name);
    found.used++;
  }
  return found;
}

/**
 * A command's usage line: `map get [options] <map> <key>`.
 *
 * @param path Its words.
 * @param spec Its declaration.
 * @returns The line.
 * @example
 * ```ts
 * usage(["sleep"], sleepCommand); // "sleep [options] <seconds>"
 * ```
 */
export function usage(path: readonly string[], spec: CommandSpec): string {
  if (spec.subcommands?.length && !spec.run) {
    return `${path.join(" ")} ${spec.subcommands.map((s) => s.name).join("|")} ...`;
  }
  return `${path.join(" ")} [options] ${argsUsage(spec)}`.trim();
}

/**
 * One command's help: usage, description, arguments, options, sub-commands, aliases, examples.
 *
 * @param path Its words.
 * @param spec Its declaration.
 * @returns The text.
 * @example
 * ```ts
 * commandHelp(["map", "watch"], watchCommand);
 * ```
 */
export function commandHelp(path: readonly string[], spec: CommandSpec): string {
  let text = `usage: ${usage(path, spec)}\n\n${spec.description ?? spec.summary}\n`;
  const args = (spec.args ?? []).map((a): [string, string] => [
    a.name,
    a.help + (a.default !== undefined ? ` (default ${a.default})` : ""),
  ]);
  if (args.length && (spec.run || !spec.subcommands?.length)) {
    text += `\narguments:\n${twoColumns(args)}`;
  }
  const opts = optionRows(spec.options);
  opts.push(["    --json | --yaml", "machine-readable output (any command)"]);
  if (spec.run || !spec.subcommands?.length) text += `\noptions:\n${twoColumns(opts)}`;
  if (spec.subcommands?.length) {
    const rows = spec.subcommands.map((s): [string, string] => [
      `${s.name} ${argsUsage(s)}`.trim(),
      s.summary,
    ]);
    text += `\ncommands:\n${twoColumns(rows)}`;
    if (spec.defaultSubcommand) {
      text += `\n\`${path.join(" ")}\` alone: ${spec.defaultSubcommand}\n`;
    }
  }
  const aliases = [...(spec.aliases ?? []), ...(spec.topAliases ?? [])];
  if (aliases.length) text += `\nalso: ${aliases.join(", ")}\n`;
  if (spec.helpText) text += spec.helpText;
  return text;
}

/**
 * The `help` overview: commands by group, each with its arguments and one line.
 *
 * @param commands The table.
 * @param out The printer (for styles).
 * @param columns The terminal's width.
 * @returns The text.
 * @example
 * ```ts
 * out.raw(overview(COMMANDS, out, 100));
 * ```
 */
export function overview(commands: readonly CommandSpec[], out: Output, columns: number): string {
  const groups = new Map<string, [string, string][]>();
  for (const c of commands) {
    const g = c.group ?? "Other";
    const list = groups.get(g) ?? [];
    if (c.run || !c.subcommands?.length) {
      list.push([`${c.name} ${argsUsage(c)}`.trim(), c.summary]);
    }
    for (const s of c.subcommands ?? []) {
      const also = s.topAliases?.length ? ` (also: ${s.topAliases.join(", ")})` : "";
      list.push([`${c.name} ${s.name} ${argsUsage(s)}`.trim(), s.summary + also]);
    }
    groups.set(g, list);
  }
  const w = Math.min(32, Math.max(...[...groups.values()].flat().map(([u]) => u.length)));
  let text = "";
  for (const [g, list] of groups) {
    text += out.style("bold", `${g}:`) + "\n";
    for (const [u, d] of list) {
      const room = Math.max(20, columns - w - 5);
      const desc = d.length > room ? d.slice(0, room - 1) + "…" : d;
      text += u.length > w
        ? `  ${u}\n  ${" ".repeat(w)}  ${out.style("dim", desc)}\n`
        : `  ${u.padEnd(w)}  ${out.style("dim", desc)}\n`;
    }
  }
  text += "\nAny other line is JavaScript over the session: obj, objects, maps, progs, links,\n" +
    "each map and program by name, and the mod.ts API (await works).\n" +
    "Add --json or --yaml to any command. Ctrl-C stops a command or an await; a line that\n" +
    "runs 5 s without a pause is stopped (BPFSH_JS_TIMEOUT). Ctrl-D or exit leaves.\n" +
    "help CMD explains one command.\n";
  return text;
}
