/**
 * What a shell command is: one {@link CommandSpec} per command, declared as data (its words,
 * arguments, options, help and handler), and what its handler gets ({@link Ctx}). The
 * dispatcher parses, `help` documents and Tab completes every command from these
 * declarations alone.
 *
 * To add a command: write `shell/commands/NAME.ts` exporting a `CommandSpec`, and add it to
 * the list in `shell/commands/table.ts` (see docs/architecture.md, "Adding a command").
 *
 * @module
 */

import type { ArgsSpec, Parsed } from "../args.ts";
import type { Output } from "../output.ts";
import type { Session } from "../session.ts";

/** What runs lines and commands (the dispatcher), as the commands see it. */
export interface Runner {
  /**
   * Run one line: `;`-separated commands, or JavaScript.
   *
   * @param text The line.
   * @returns True when everything succeeded.
   */
  line(text: string): Promise<boolean>;
  /**
   * Run one command given as words.
   *
   * @param words The command and its arguments.
   * @returns True on success.
   */
  argv(words: string[]): Promise<boolean>;
  /**
   * Run one command given as words, throwing what it throws (nothing is printed).
   *
   * @param words The command and its arguments.
   * @returns When it is done.
   */
  exec(words: string[]): Promise<void>;
  /** Set by `exit`: the status the process should leave with. */
  exitCode?: number;
}

/** What every command handler can use. */
export interface Ctx {
  /** The loaded objects and links. */
  session: Session;
  /** The printer. */
  out: Output;
  /** Aborted when the user presses Ctrl-C while this command runs (or its output closed). */
  readonly signal: AbortSignal;
  /** True in the interactive shell (a terminal is attached). */
  interactive: boolean;
  /** Print stacks and whole logs. */
  readonly debug: boolean;
  /** The dispatcher (for `source`, `pin` and sessions). */
  dispatcher: Runner;
  /** Every command, as registered (for `help`). */
  commands: readonly CommandSpec[];
}

/**
 * One command (or sub-command) of the shell.
 *
 * @example
 * ```ts
 * export const sleepCommand: CommandSpec = {
 *   name: "sleep",
 *   group: "Shell",
 *   summary: "wait SECONDS (Ctrl-C ends the wait)",
 *   args: [{ name: "seconds", help: "how long", required: true }],
 *   run: (ctx, { args }) => abortableSleep(Number(args.seconds) * 1000, ctx.signal),
 * };
 * ```
 */
export interface CommandSpec extends ArgsSpec {
  /** The word that names it, e.g. `"map"` or `"dump"` (under `map`). */
  name: string;
  /** Other words for it at the same level, e.g. `["delete"]` for `map del`. */
  aliases?: string[];
  /**
   * Top-level words that run this sub-command, e.g. `["maps"]` for `map list` (today's flat
   * verbs, kept as aliases).
   */
  topAliases?: string[];
  /** The group `help` lists it under (top-level commands only). */
  group?: string;
  /** One line for the `help` overview. */
  summary: string;
  /** A longer description for `help CMD` (default: the summary). */
  description?: string;
  /** Text printed after the options by `help CMD` (examples). */
  helpText?: string;
  /** Sub-commands: `map dump`, `map get`… */
  subcommands?: CommandSpec[];
  /**
   * The sub-command that runs when none is named (`map` alone lists maps, as bpftool does).
   * Without it, a command with sub-commands and no handler of its own prints its help.
   */
  defaultSubcommand?: string;
  /** Accept words beyond the declared arguments (they come in `positionals`). */
  extraPositionals?: boolean;
  /**
   * The handler gets the words unparsed (in `positionals`), for commands that hand their
   * words on (`run script.ts ARGS`).
   */
  raw?: boolean;
  /** The handler. */
  run?(ctx: Ctx, parsed: Parsed): unknown | Promise<unknown>;
}
