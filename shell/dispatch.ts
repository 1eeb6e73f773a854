/**
 * The one dispatcher behind the REPL, `-c`, stdin, `source FILE` and session.yaml: a line is
 * split into `;`-separated pieces; a piece that starts with a command word runs that command
 * from the command table (shell/commands/table.ts), and the pieces between commands are
 * JavaScript.
 *
 * @module
 */

import { ArgError, parseWords } from "./args.ts";
import { describeError, isBpfError, ShellError } from "./errors.ts";
import { firstWord, splitCommands, tokenize } from "./line.ts";
import { type Format, loadYaml, Output } from "./output.ts";
import { Session } from "./session.ts";
import { bindScope } from "./scope.ts";
import { loadedCore } from "./core.ts";
import { COMMANDS } from "./commands/table.ts";
import { commandHelp, findCommand, topWords, usage } from "./commands/help.ts";
import type { CommandSpec, Ctx, Runner } from "./commands/types.ts";

export type { Ctx } from "./commands/types.ts";

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
  /** The command table (default: every command). */
  commands?: readonly CommandSpec[];
}

const FORMAT_FLAGS: Record<string, Format> = {
  "--json": "json",
  "--yaml": "yaml",
  "--table": "table",
};

/** A command word that names no command. */
class UnknownCommand extends ShellError {}

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
export class Dispatcher implements Runner {
  /** The session. */
  readonly session: Session;
  /** The printer. */
  readonly out: Output;
  /** The command table. */
  readonly commands: readonly CommandSpec[];
  /** Interactive shell. */
  readonly interactive: boolean;
  /** Print stacks. */
  debug: boolean;
  /** Set by `exit` (or a closed output): the status the process should leave with. */
  exitCode?: number;
  /** The exit status the last failure calls for: 2 for usage errors, 1 otherwise. */
  exitStatusHint = 1;
  readonly #words: Map<string, string[]>;
  readonly #ctx: Ctx;
  #running?: AbortController;

  constructor(init: DispatcherInit = {}) {
    this.session = init.session ?? new Session();
    this.out = init.out ?? new Output();
    this.interactive = init.interactive ?? false;
    this.debug = init.debug ?? false;
    this.commands = init.commands ?? COMMANDS;
    this.#words = topWords(this.commands);
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
      commands: this.commands,
    };
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
   * Run one line: `;`-separated commands, with JavaScript between them.
   *
   * @param text The line.
   * @returns True when everything succeeded.
   */
  async line(text: string): Promise<boolean> {
    const trimmed = text.trim();
    if (!trimmed || trimmed.startsWith("#") || trimmed.startsWith("//")) return true;
    if (!this.isCommand(firstWord(trimmed)) && !trimmed.includes(";")) {
      return await this.js(trimmed);
    }
    // JavaScript runs from its first piece to the last one before the next command.
    let jsStart = -1;
    let jsEnd = -1;
    const flush = async () => {
      if (jsStart < 0) return true;
      const code = trimmed.slice(jsStart, jsEnd);
      jsStart = -1;
      return await this.js(code);
    };
    for (const piece of splitCommands(trimmed)) {
      if (!this.isCommand(firstWord(piece.text))) {
        if (jsStart < 0) jsStart = piece.offset;
        jsEnd = piece.offset + piece.text.length;
        continue;
      }
      if (!(await flush())) return false;
      if (this.exitCode !== undefined) return true;
      const ok = await this.argv(tokenize(piece.text));
      if (!ok || this.exitCode !== undefined) return ok;
    }
    return await flush();
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
   * Run one command given as words (`--json`/`--yaml`/`--table` anywhere pick the format),
   * printing what goes wrong.
   *
   * @param words The command and its arguments.
   * @returns True on success.
   */
  async argv(words: string[]): Promise<boolean> {
    // `format --json` is the format command's own argument.
    const isFormat = this.#words.get(words[0])?.[0] === "format";
    const format = isFormat ? undefined : words.map((w) => FORMAT_FLAGS[w]).filter(Boolean).pop();
    const args = isFormat ? words : words.filter((w) => !(w in FORMAT_FLAGS));
    const saved = this.out.format;
    if (format) this.out.format = format;
    try {
      if (this.out.format === "yaml") await loadYaml();
      await this.exec(args);
      return true;
    } catch (e) {
      this.#report(args, e);
      return false;
    } finally {
      if (format) this.out.format = saved;
    }
  }

  /**
   * Run one command given as words, throwing what it throws.
   *
   * @param words The command and its arguments.
   * @returns When the command is done.
   */
  async exec(words: string[]): Promise<void> {
    const found = findCommand(this.commands, words);
    if (!found) {
      throw new UnknownCommand(`unknown command '${words[0] ?? ""}'`, {
        hint: "`help` lists the commands",
      });
    }
    let { spec, path } = found;
    const rest = words.slice(found.used);
    if (!spec.raw && (rest.includes("-h") || rest.includes("--help"))) {
      this.out.raw(commandHelp(path, spec));
      return;
    }
    if (!spec.run) {
      const fallback = spec.subcommands?.find((s) => s.name === spec.defaultSubcommand);
      if (fallback && (rest.length === 0 || rest[0].startsWith("-"))) {
        spec = fallback;
        path = [...path, fallback.name];
      } else if (rest.length === 0) {
        this.out.raw(commandHelp(path, spec));
        return;
      } else {
        throw new ArgError(`unknown command '${path.join(" ")} ${rest[0]}'`);
      }
    }
    const parsed = spec.raw
      ? { opts: {}, args: {}, positionals: rest }
      : parseWords(rest, spec, { extraPositionals: spec.extraPositionals });
    const outer = this.#running;
    const controller = new AbortController();
    // A nested command (source, sessions, pin) stops when its parent is stopped.
    outer?.signal.addEventListener("abort", () => controller.abort(), { once: true });
    this.#running = controller;
    try {
      await spec.run!(this.#ctx, parsed);
    } finally {
      this.#running = outer;
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

  /** The words a command can start with: commands, their aliases and the flat verbs. */
  commandNames(): string[] {
    return [...this.#words.keys()];
  }

  /**
   * Whether a word starts a command.
   *
   * @param word The first word of a piece.
   * @returns True for a command word.
   */
  isCommand(word: string | undefined): boolean {
    return word !== undefined && this.#words.has(word);
  }

  #report(words: string[], e: unknown): void {
    const found = findCommand(this.commands, words);
    // Errors name the command as it was typed (`attach`, not `prog attach`).
    const typed = found ? words.slice(0, found.used) : [];
    const path = e instanceof UnknownCommand ? "" : typed.join(" ");
    const usageOf = () => found ? usage(typed, found.spec) : undefined;
    if (e instanceof ArgError) {
      this.out.error({ command: path, message: e.message, usage: usageOf() });
      this.exitStatusHint = 2;
      return;
    }
    this.session.lastError = e;
    const line = describeError(path, e);
    if (e instanceof ShellError && e.usage) line.usage = usageOf();
    if (this.debug) line.log = undefined; // the whole log follows
    this.out.error(line);
    this.exitStatusHint = e instanceof ShellError && (e.usage || e instanceof UnknownCommand)
      ? 2
      : 1;
    if (this.debug) {
      if (isBpfError(e) && e.log) this.out.err(e.log.trimEnd());
      if (e instanceof Error && e.stack) this.out.err(e.stack);
    }
  }

  /**
   * Print something that happened outside any command (an uncaught error): the REPL sets
   * this to print above the prompt and redraw it.
   */
  notify: (print: () => void) => void = (print) => print();
}
