/**
 * Command lines of the tracing scripts, parsed by the shell's own argument parser
 * (shell/args.ts): each script names its own options, picks the common ones (`--pid`,
 * `--comm`, `--uid`), and always gets `--duration`, `--json` and `--help`, with a generated
 * help text in bcc's style.
 *
 * @module
 */

import { ArgError, optionRows, type OptionSpec, parseWords, twoColumns } from "../../shell/args.ts";

export type { OptionSpec } from "../../shell/args.ts";

/** The filters a script may offer; each becomes a `const volatile` global of its BPF side. */
export type CommonFilter = "pid" | "comm" | "uid";

/** A word a script takes besides its options, e.g. an object file. */
export interface ArgumentSpec {
  /** How the help shows it, e.g. `"OBJECT"`. */
  name: string;
  /** One line of help. */
  help: string;
}

/** What a script's command line looks like. */
export interface ToolSpec {
  /** The script's name, e.g. `"execsnoop"`. */
  name: string;
  /** What it does, one line. */
  summary: string;
  /** The common filters it offers. */
  filters?: CommonFilter[];
  /** A help line of its own for a common filter, where it means more than the default. */
  filterHelp?: Partial<Record<CommonFilter, string>>;
  /** Its own options. */
  options?: Record<string, OptionSpec>;
  /** An optional word after the options (at most one); without it, any word is an error. */
  argument?: ArgumentSpec;
  /** Example command lines with a comment each: `[args, comment]`. */
  examples?: [string, string][];
}

const FILTERS: Record<CommonFilter, OptionSpec> = {
  pid: { type: "string", short: "p", arg: "PID", help: "trace this process only" },
  comm: { type: "string", short: "c", arg: "COMM", help: "trace this command name only" },
  uid: { type: "string", short: "u", arg: "UID", help: "trace this user id only" },
};

const ALWAYS: Record<string, OptionSpec> = {
  duration: {
    type: "string",
    short: "d",
    arg: "SECONDS",
    help: "stop after this many seconds (default: at Ctrl-C)",
  },
  json: { type: "boolean", short: "j", help: "print JSON lines instead of a table" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

/**
 * A command line that cannot be used: the script prints it with a pointer to --help (the
 * parser's own error class).
 *
 * @example
 * ```ts
 * throw new UsageError("--top must be at least 1");
 * ```
 */
export const UsageError = ArgError;
/** A command line that cannot be used. */
export type UsageError = ArgError;

/** The parsed command line, with typed accessors that validate. */
export class Args {
  /** The raw values by option name. */
  readonly values: Record<string, string | boolean | undefined>;
  /** Words that are not options. */
  readonly positionals: string[];

  /**
   * @param values The values by option name.
   * @param positionals The other words.
   * @example
   * ```ts
   * new Args({ pid: "42" }, []).int("pid"); // 42
   * ```
   */
  constructor(values: Record<string, string | boolean | undefined>, positionals: string[]) {
    this.values = values;
    this.positionals = positionals;
  }

  /**
   * A flag.
   *
   * @param name The option.
   * @returns Whether it was given.
   * @example
   * ```ts
   * args.flag("json");
   * ```
   */
  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /**
   * A string option.
   *
   * @param name The option.
   * @returns Its value, or undefined when absent.
   * @example
   * ```ts
   * args.str("comm"); // "bash"
   * ```
   */
  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === "string" ? v : undefined;
  }

  /**
   * An integer option within bounds.
   *
   * @param name The option.
   * @param min The smallest value allowed (default 0).
   * @param max The largest value allowed (default 2^32 - 1).
   * @returns The value, or undefined when absent.
   * @throws {UsageError} When it is not an integer in range.
   * @example
   * ```ts
   * args.int("pid", 1); // 1234
   * ```
   */
  int(name: string, min = 0, max = 0xffffffff): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(
        `invalid --${name} '${v}': expected an integer from ${min} to ${max}`,
      );
    }
    return n;
  }

  /**
   * A positive number of seconds (fractions allowed).
   *
   * @param name The option.
   * @returns The seconds, or undefined when absent.
   * @throws {UsageError} When it is not a positive number.
   * @example
   * ```ts
   * args.seconds("duration"); // 2.5
   * ```
   */
  seconds(name: string): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!v.trim() || !Number.isFinite(n) || n <= 0) {
      throw new UsageError(`invalid --${name} '${v}': expected a positive number of seconds`);
    }
    return n;
  }
}

/**
 * The help text of a script.
 *
 * @param spec The script's command line.
 * @returns The text, ending with a newline.
 * @example
 * ```ts
 * console.log(helpText({ name: "execsnoop", summary: "Trace exec() calls" }));
 * ```
 */
export function helpText(spec: ToolSpec): string {
  const rows = optionRows(allOptions(spec));
  const arg = spec.argument;
  if (arg) rows.unshift([arg.name, arg.help]);
  const table = twoColumns(rows).split("\n");
  let text = `usage: ${spec.name} [options]${arg ? ` [${arg.name}]` : ""}\n\n${spec.summary}\n\n`;
  if (arg) text += `arguments:\n${table.shift()}\n\n`;
  text += `options:\n${table.join("\n")}`;
  if (spec.examples?.length) {
    const ex = spec.examples.map(([a, c]): [string, string] => [
      `${spec.name}${a ? ` ${a}` : ""}`,
      `# ${c}`,
    ]);
    text += `\nexamples:\n${twoColumns(ex)}`;
  }
  return text;
}

function allOptions(spec: ToolSpec): Record<string, OptionSpec> {
  const out: Record<string, OptionSpec> = {};
  for (const f of spec.filters ?? []) {
    const help = spec.filterHelp?.[f];
    out[f] = help ? { ...FILTERS[f], help } : FILTERS[f];
  }
  Object.assign(out, spec.options ?? {}, ALWAYS);
  return out;
}

/**
 * Parse a script's command line. `--help` prints the help and returns undefined.
 *
 * @param spec The script's options.
 * @param argv The words (default: `Deno.args`, which `bpfsh run x.ts ARGS` sets too).
 * @returns The parsed arguments, or undefined when the help was printed.
 * @throws {UsageError} On an unknown option, a missing value or a stray word (any word
 *   beyond the one `spec.argument` allows).
 * @example
 * ```ts
 * const args = parseToolArgs({ name: "execsnoop", summary: "…", filters: ["uid"] });
 * if (!args) return;
 * ```
 */
export function parseToolArgs(
  spec: ToolSpec,
  argv: readonly string[] = Deno.args,
): Args | undefined {
  const options = allOptions(spec);
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(helpText(spec).trimEnd());
    return undefined;
  }
  const parsed = parseWords(argv, {
    options,
    args: spec.argument ? [{ name: spec.argument.name, help: spec.argument.help }] : [],
  });
  const values: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(parsed.opts)) {
    if (v !== undefined && !Array.isArray(v) && v !== false) values[k] = v;
  }
  return new Args(values, parsed.positionals);
}
