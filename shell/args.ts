/**
 * The one argument parser of bpfsh: the shell's commands and the tracing scripts declare their
 * options and positional arguments as data ({@link ArgsSpec}), and this module parses words
 * against that declaration (over `node:util`'s `parseArgs`) and writes the usage and option
 * lines of their help.
 *
 * Words that look like negative numbers (`-1`, `-0x10`) are positional arguments, not options,
 * so `map set counts -1 5` works.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** One option: `--name VALUE` or a `--name` flag. */
export interface OptionSpec {
  /** `"boolean"` for a flag, `"string"` for an option with a value. */
  type: "boolean" | "string";
  /** A one-letter alias, e.g. `"p"` for `-p`. */
  short?: string;
  /** How the help shows the value, e.g. `"PID"` (default: the option's name in capitals). */
  arg?: string;
  /** One line of help. */
  help: string;
  /** The value when the option is absent. */
  default?: string;
  /** Repeatable: the values come as a list. */
  multiple?: boolean;
  /** What Tab completes for the value (a completion kind, see shell/complete.ts). */
  complete?: string;
}

/** One positional argument. */
export interface ArgSpec {
  /** Its name in the usage, e.g. `"map"`. */
  name: string;
  /** One line of help. */
  help: string;
  /** Must be given. */
  required?: boolean;
  /** Takes every remaining word (the last argument only). */
  variadic?: boolean;
  /** The value when absent. */
  default?: string;
  /** What Tab completes here (default: the argument's name). */
  complete?: string;
}

/** What a command line looks like. */
export interface ArgsSpec {
  /** Options by long name. */
  options?: Record<string, OptionSpec>;
  /** Positional arguments, in order. */
  args?: ArgSpec[];
}

/** A value of a parsed option. */
export type OptionValue = string | boolean | string[] | undefined;

/** The parsed words. */
export interface Parsed {
  /** Option values by long name (defaults filled in). */
  opts: Record<string, OptionValue>;
  /** Positional arguments by name (a variadic one as a list; defaults filled in). */
  args: Record<string, string | string[] | undefined>;
  /** Every positional word, in order. */
  positionals: string[];
}

/** A command line that cannot be used: the caller prints it with the usage (exit status 2). */
export class ArgError extends Error {
  /**
   * @param message What is wrong, e.g. `missing required argument 'map'`.
   * @example
   * ```ts
   * throw new ArgError("unknown option '--frobnicate'");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "ArgError";
  }
}

const NEGATIVE_NUMBER = /^-(\d|0x|\.\d)/i;

/**
 * Parse words against a declaration.
 *
 * @param words The words after the command name.
 * @param spec The options and arguments.
 * @param opts `extraPositionals`: accept words beyond the declared arguments (they stay in
 *   `positionals`).
 * @returns The options and arguments.
 * @throws {ArgError} On an unknown option, a missing value, a missing argument or a stray word.
 * @example
 * ```ts
 * const p = parseWords(["counts", "--top", "5"], {
 *   args: [{ name: "map", help: "the map", required: true }],
 *   options: { top: { type: "string", help: "rows" } },
 * });
 * p.args.map; // "counts"
 * p.opts.top; // "5"
 * ```
 */
export function parseWords(
  words: readonly string[],
  spec: ArgsSpec,
  opts: { extraPositionals?: boolean } = {},
): Parsed {
  const declared = spec.options ?? {};
  const options: Record<string, { type: "boolean" | "string"; short?: string }> = {};
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(declared)) {
    options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
    if (o.short) byShort.set(o.short, name);
  }
  const { tokens } = parseArgs({
    args: [...words],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  const negativeSeen = new Set<number>();
  for (const t of tokens) {
    if (t.kind === "positional") {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== "option") continue;
    if (NEGATIVE_NUMBER.test(words[t.index]) && !(t.name in declared)) {
      // `-1` and `-0x10` are numbers: parseArgs saw short options in them.
      if (!negativeSeen.has(t.index)) positionals.push(words[t.index]);
      negativeSeen.add(t.index);
      continue;
    }
    const name = t.name in declared ? t.name : byShort.get(t.name);
    const o = name ? declared[name] : undefined;
    if (!name || !o) throw new ArgError(`unknown option '${t.rawName}'`);
    if (o.type === "boolean") {
      if (t.value !== undefined) throw new ArgError(`option '${t.rawName}' takes no value`);
      values[name] = true;
      continue;
    }
    if (t.value === undefined) {
      throw new ArgError(`option '${t.rawName} ${o.arg ?? name.toUpperCase()}' needs a value`);
    }
    values[name] = o.multiple
      ? [...(values[name] as string[] | undefined ?? []), t.value]
      : t.value;
  }
  for (const [name, o] of Object.entries(declared)) {
    if (values[name] !== undefined) continue;
    if (o.multiple) values[name] = [];
    else if (o.default !== undefined) values[name] = o.default;
    else if (o.type === "boolean") values[name] = false;
  }
  const args: Record<string, string | string[] | undefined> = {};
  const list = spec.args ?? [];
  list.forEach((a, i) => {
    if (a.variadic) {
      const rest = positionals.slice(i);
      if (a.required && !rest.length) throw new ArgError(`missing required argument '${a.name}'`);
      args[a.name] = rest.length ? rest : a.default !== undefined ? [a.default] : [];
      return;
    }
    const v = positionals[i];
    if (v === undefined && a.required) throw new ArgError(`missing required argument '${a.name}'`);
    args[a.name] = v ?? a.default;
  });
  const last = list[list.length - 1];
  if (!last?.variadic && !opts.extraPositionals && positionals.length > list.length) {
    const extra = positionals.slice(list.length);
    throw new ArgError(
      `unexpected argument${extra.length > 1 ? "s" : ""} ${extra.map((w) => `'${w}'`).join(" ")}`,
    );
  }
  return { opts: values, args, positionals };
}

/**
 * The arguments part of a usage line: `<map> <key> [value...]`.
 *
 * @param spec The declaration.
 * @returns The text.
 * @example
 * ```ts
 * argsUsage({ args: [{ name: "map", help: "", required: true }] }); // "<map>"
 * ```
 */
export function argsUsage(spec: ArgsSpec): string {
  return (spec.args ?? []).map((a) => {
    const n = a.name + (a.variadic ? "..." : "");
    return a.required ? `<${n}>` : `[${n}]`;
  }).join(" ");
}

/**
 * The option lines of a help text: `[left, help]` pairs such as `["-p, --pid PID", "…"]`.
 *
 * @param options The options.
 * @returns One pair per option, in declaration order.
 * @example
 * ```ts
 * optionRows({ top: { type: "string", arg: "N", help: "rows" } }); // [["    --top N", "rows"]]
 * ```
 */
export function optionRows(options: Record<string, OptionSpec> = {}): [string, string][] {
  return Object.entries(options).map(([name, o]) => {
    const value = o.type === "string" ? ` ${o.arg ?? name.toUpperCase()}` : "";
    const left = `${o.short ? `-${o.short}, ` : "    "}--${name}${value}`;
    const def = o.default !== undefined && o.type === "string" ? ` (default ${o.default})` : "";
    return [left, o.help + def];
  });
}

/**
 * Rows as aligned two-column text, each line indented by two spaces.
 *
 * @param rows `[left, right]` pairs.
 * @returns The lines, each ending with a newline.
 * @example
 * ```ts
 * twoColumns([["--json", "JSON lines"]]); // "  --json  JSON lines\n"
 * ```
 */
export function twoColumns(rows: [string, string][]): string {
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`.trimEnd() + "\n").join("");
}
