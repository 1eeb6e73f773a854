/**
 * The one dispatcher behind the REPL, `-c`, stdin, `source FILE` and session.yaml: a line is
 * split into `;`-separated commands, each parsed by commander, and anything that is not a
 * command is evaluated as JavaScript.
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { describeError, isBpfError, ShellError } from "./errors.ts";
import { firstWord, splitCommands, tokenize } from "./line.ts";
import { type Format, loadYaml, Output } from "./output.ts";
import { Session } from "./session.ts";
import { registerAll } from "./commands/mod.ts";
import { bindScope } from "./scope.ts";
import { loadedCore } from "./core.ts";

/** What every command handler can use. */
export interface Ctx {
  /** The loaded objects and links. */
  session: Session;
  /** The printer. */
  out: Output;
  /** Aborted when the user presses Ctrl-C while this command runs. */
  signal: AbortSignal;
  /** True in the interactive shell (a terminal is attached). */
  interactive: boolean;
  /** Print stacks and whole logs. */
  debug: boolean;
  /** The dispatcher (for `source` and sessions). */
  dispatcher: Dispatcher;
}

/** Options of a {@link Dispatcher}. */
export interface DispatcherInit {
  /** The session (a new one when absent). */
  session?: Session;
  /** The printer (a default table printer when absent). */
  out?: Output;
  /** Interactive shell. */
  interactive?: boolean;
  /** Print stacks. */
  debug?: boolean;
}

const FORMAT_FLAGS: Record<string, Format> = {
  "--json": "json",
  "--yaml": "yaml",
  "--table": "table",
};

/**
 * Runs lines and argument vectors through the command table.
 *
 * @example
 * ```ts
 * const d = new Dispatcher();
 * await d.line("load build/tests/shell_demo.bpf.o; map dump counts");
 * d.session.closeAll();
 * ```
 */
export class Dispatcher {
  /** The session. */
  readonly session: Session;
  /** The printer. */
  readonly out: Output;
  /** The command tree (built once; commander restores its state between parses). */
  readonly program: Command;
  /** Interactive shell. */
  readonly interactive: boolean;
  /** Print stacks. */
  debug: boolean;
  /** Set by `exit`: the status the process should leave with. */
  exitCode?: number;
  #ctx: Ctx;
  #running?: AbortController;

  constructor(init: DispatcherInit = {}) {
    this.session = init.session ?? new Session();
    this.out = init.out ?? new Output();
    this.interactive = init.interactive ?? false;
    this.debug = init.debug ?? false;
    const signal = () => this.#running?.signal ?? new AbortController().signal;
    const debug = () => this.debug;
    this.#ctx = {
      session: this.session,
      out: this.out,
      get signal() {
        return signal();
      },
      interactive: this.interactive,
      get debug() {
        return debug();
      },
      dispatcher: this,
    };
    this.program = buildProgram(this.#ctx);
    // JavaScript (and its completion) sees loaded objects at once.
    this.session.onChange = () =>
      bindScope(this.session, loadedCore() as unknown as Record<string, unknown> | undefined);
  }

  /** Whether a command is running now. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Stop the running command (Ctrl-C).
   *
   * @returns True when a command was running.
   */
  interrupt(): boolean {
    if (!this.#running) return false;
    this.#running.abort();
    return true;
  }

  /**
   * Run one line: commands separated by `;`, or JavaScript.
   *
   * @param text The line.
   * @returns True when everything succeeded.
   */
  async line(text: string): Promise<boolean> {
    const trimmed = text.trim();
    if (!trimmed || trimmed.startsWith("#") || trimmed.startsWith("//")) return true;
    if (!this.#isCommand(firstWord(trimmed))) return await this.js(trimmed);
    for (const piece of splitCommands(trimmed)) {
      if (!this.#isCommand(firstWord(piece.text))) {
        return await this.js(trimmed.slice(piece.offset));
      }
      const ok = await this.argv(tokenize(piece.text));
      if (!ok || this.exitCode !== undefined) return ok;
    }
    return true;
  }

  /**
   * Run several lines in order, stopping at the first failure.
   *
   * @param lines The lines.
   * @returns True when all succeeded.
   */
  async lines(lines: Iterable<string>): Promise<boolean> {
    for (const l of lines) {
      if (!(await this.line(l))) return false;
      if (this.exitCode !== undefined) return true;
    }
    return true;
  }

  /**
   * Run one command given as words (`--json`/`--yaml`/`--table` anywhere pick the format).
   *
   * @param words The command and its arguments.
   * @returns True on success.
   */
  async argv(words: string[]): Promise<boolean> {
    const format = words.map((w) => FORMAT_FLAGS[w]).filter(Boolean).pop();
    const args = words.filter((w) => !(w in FORMAT_FLAGS));
    const saved = this.out.format;
    if (format && args[0] !== "format") this.out.format = format;
    if (this.out.format === "yaml") await loadYaml();
    const outer = this.#running;
    const controller = new AbortController();
    // A nested command (source, sessions) stops when its parent is stopped.
    outer?.signal.addEventListener("abort", () => controller.abort(), { once: true });
    this.#running = controller;
    try {
      await this.program.parseAsync(args, { from: "user" });
      return true;
    } catch (e) {
      this.#report(args, e);
      return false;
    } finally {
      this.#running = outer;
      if (format && args[0] !== "format") this.out.format = saved;
    }
  }

  /**
   * Evaluate JavaScript with the session in scope; the result is printed with Deno.inspect.
   *
   * @param code The code.
   * @returns True when it did not throw.
   */
  async js(code: string): Promise<boolean> {
    const controller = new AbortController();
    const outer = this.#running;
    this.#running = controller;
    try {
      const { evaluate } = await import("./js_eval.ts");
      await evaluate(code, this.#ctx, controller.signal);
      return true;
    } catch (e) {
      this.session.lastError = e;
      this.out.error(describeError("js", e));
      if (this.debug && e instanceof Error && e.stack) this.out.err(e.stack);
      return false;
    } finally {
      this.#running = outer;
    }
  }

  /** The names a line can start with: commands and their aliases. */
  commandNames(): string[] {
    return this.program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  }

  #isCommand(word: string | undefined): boolean {
    return word !== undefined && this.commandNames().includes(word);
  }

  /** The command (and sub-command) the words name, for error lines and usage. */
  #commandOf(words: string[]): { path: string; cmd?: Command } {
    const top = this.program.commands.find((c) =>
      c.name() === words[0] || c.aliases().includes(words[0])
    );
    if (!top) return { path: words[0] ?? "" };
    const sub = top.commands.find((c) => c.name() === words[1] || c.aliases().includes(words[1]));
    return sub ? { path: `${top.name()} ${sub.name()}`, cmd: sub } : { path: top.name(), cmd: top };
  }

  #usage(path: string, cmd?: Command): string | undefined {
    if (!cmd) return undefined;
    return `${path} ${cmd.usage()}`.trim();
  }

  #report(words: string[], e: unknown): void {
    const { path, cmd } = this.#commandOf(words);
    if (e instanceof CommanderError) {
      if (["commander.helpDisplayed", "commander.version"].includes(e.code)) return;
      if (e.code === "commander.help") return;
      this.out.error({
        command: path,
        message: e.message.replace(/^error: /, ""),
        usage: this.#usage(path, cmd),
      });
      this.exitStatusHint = 2;
      return;
    }
    this.session.lastError = e;
    const line = describeError(path, e);
    if (e instanceof ShellError && e.usage) line.usage = this.#usage(path, cmd);
    if (this.debug) line.log = undefined; // the whole log follows
    this.out.error(line);
    this.exitStatusHint = e instanceof ShellError && e.usage ? 2 : 1;
    if (this.debug) {
      if (isBpfError(e) && e.log) this.out.err(e.log.trimEnd());
      if (e instanceof Error && e.stack) this.out.err(e.stack);
    }
  }

  /** The exit status the last failure calls for: 2 for usage errors, 1 otherwise. */
  exitStatusHint = 1;

  /**
   * Print something that happened outside any command (an uncaught error): the REPL sets
   * this to print above the prompt and redraw it.
   */
  notify: (print: () => void) => void = (print) => print();
}

/**
 * The command tree: every command group registers itself; errors and help come back to us
 * instead of exiting the process.
 *
 * @param ctx What the commands use.
 * @returns The root command.
 */
function buildProgram(ctx: Ctx): Command {
  const program = new Command("bpfsh")
    .exitOverride()
    .helpCommand(false)
    .configureOutput({
      writeOut: (s) => ctx.out.raw(s),
      writeErr: (s) => ctx.out.raw(s),
      outputError: () => {},
    });
  registerAll(program, ctx);
  return program;
}
