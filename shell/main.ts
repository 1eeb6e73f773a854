/**
 * The `bpfsh` command line.
 *
 * ```
 * bpfsh                         the interactive shell (commands piped on stdin run in order)
 * bpfsh -c "load x.o; map dump counts"
 * bpfsh run script.ts [args]    a tracing script (it imports mod.ts itself)
 * bpfsh run session.yaml        a declarative session
 * bpfsh serve CONFIG.yaml       headless: maps as Prometheus metrics, events over OTLP
 * bpfsh CMD [args]              one shell command, e.g. `bpfsh doctor`, `bpfsh btf task_struct`
 * options: --json | --yaml, --debug (stacks and whole logs), --no-color, -h, -V
 * ```
 *
 * Start-up is kept short: a script run imports nothing of the shell, and the core library is
 * imported by the first command that needs it.
 *
 * @module
 */

import { isProbeCommandLine } from "../probe/argv.ts";
import { runProbeCommandLine } from "../probe/bundle.ts";

/** The version printed by `-V`. */
export const VERSION = "0.1.0";

/** What the command line asked for. */
export interface CliOptions {
  /** `--json` / `--yaml` / `--table`. */
  format?: "table" | "json" | "yaml";
  /** `--debug`. */
  debug: boolean;
  /** `--no-color` (NO_COLOR in the environment does the same). */
  color?: boolean;
  /** `-c TEXT`, repeatable. */
  commands: string[];
  /** `-h`. */
  help: boolean;
  /** `-V`. */
  version: boolean;
  /** The words after the options. */
  rest: string[];
}

const USAGE = `usage: bpfsh [options] [command [args...]]

  bpfsh                        interactive shell (or commands piped on stdin)
  bpfsh -c "load x.o; maps"    run commands separated by ';' and leave
  bpfsh run script.ts [args]   run a tracing script (it imports mod.ts)
  bpfsh run session.yaml       run a declarative session
  bpfsh serve CONFIG.yaml      export maps to Prometheus, events to OTLP (bpfsh serve -h)
  bpfsh -e 'PROGRAM' [args]    run a bpftrace program (also: bpfsh FILE.bt, -l, -lv, --emit-c)
  bpfsh doctor                 what this kernel supports
  bpfsh CMD [args]             any shell command (see: bpfsh help)

options:
  -c, --command <text>  commands to run (repeatable)
  --json | --yaml       machine-readable output (one JSON object per line, errors too)
  --debug               print stacks and whole verifier logs on errors
  --no-color            no colours (also NO_COLOR=1)
  -h, --help            this help
  -V, --version         the version
`;

/**
 * Parse the command line: options up to the first word that is not one.
 *
 * @param argv The arguments (Deno.args).
 * @returns The options.
 * @example
 * ```ts
 * parseCli(["--json", "-c", "maps"]).commands; // ["maps"]
 * ```
 */
export function parseCli(argv: string[]): CliOptions {
  const o: CliOptions = { debug: false, commands: [], help: false, version: false, rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    if (a === "-c" || a === "--command") {
      if (i + 1 >= argv.length) throw new Error(`${a} needs the commands to run`);
      o.commands.push(argv[++i]);
    } else if (a.startsWith("--command=")) o.commands.push(a.slice(10));
    else if (a === "--json") o.format = "json";
    else if (a === "--yaml") o.format = "yaml";
    else if (a === "--table") o.format = "table";
    else if (a === "--debug") o.debug = true;
    else if (a === "--no-color") o.color = false;
    else if (a === "--color") o.color = true;
    else if (a === "-h" || a === "--help") o.help = true;
    else if (a === "-V" || a === "--version") o.version = true;
    else throw new Error(`unknown option '${a}'`);
  }
  o.rest = argv.slice(i);
  return o;
}

/**
 * Import a module of the shell when it is needed. The specifier is computed, not a string
 * literal, on purpose: Deno loads every literal `import("...")` of the main module, and all
 * they import, before the first line runs. Literals here would read and compile the whole
 * shell and core (dozens of modules: bench/NOTES.md) before a script run, which needs none
 * of them.
 *
 * @param path The module, relative to this file.
 * @returns The module.
 */
function importShell<T>(path: string): Promise<T> {
  return import(new URL(path, import.meta.url).href);
}

/**
 * Run the command line.
 *
 * @param argv The arguments.
 * @returns The exit status, or undefined for a script run: the process then ends when the
 *   script's work is done (its timers too), as under `deno run`.
 */
async function main(argv: string[]): Promise<number | undefined> {
  // The probe language (-e, -l, FILE.bt) needs none of the shell either.
  if (isProbeCommandLine(argv)) {
    return await runProbeCommandLine(argv);
  }
  let cli: CliOptions;
  try {
    cli = parseCli(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (cli.help) {
    console.log(USAGE);
    return 0;
  }
  if (cli.version) {
    console.log(`bpfsh ${VERSION}`);
    return 0;
  }
  // The fast path: a script needs none of the shell.
  if (
    cli.rest[0] === "run" && /\.(ts|js|mjs|mts)$/.test(cli.rest[1] ?? "") && !cli.commands.length
  ) {
    const { runScript } = await importShell<typeof import("./script_runner.ts")>(
      "./script_runner.ts",
    );
    return await runScript(cli.rest[1], cli.rest.slice(2)) ? undefined : 1;
  }

  if (cli.rest[0] === "serve" && !cli.commands.length) {
    const { serveMain } = await importShell<typeof import("../serve/cli.ts")>("../serve/cli.ts");
    return await serveMain(cli.rest.slice(1));
  }

  const [
    { Dispatcher },
    { Output, writeAll },
    { loadedCore },
    { onStdoutClosed, isBrokenPipe, CLOSED_OUTPUT_STATUS },
  ] = await Promise.all([
    importShell<typeof import("./dispatch.ts")>("./dispatch.ts"),
    importShell<typeof import("./output.ts")>("./output.ts"),
    importShell<typeof import("./core.ts")>("./core.ts"),
    importShell<typeof import("./stdout_closed.ts")>("./stdout_closed.ts"),
  ]);
  const stdinTty = Deno.stdin.isTerminal();
  const interactive = stdinTty && !cli.commands.length && !cli.rest.length;
  // A closed output (`| head`): leave at once, with everything closed, as SIGPIPE would.
  const write = (t: string) => {
    try {
      writeAll(Deno.stdout, t);
    } catch (e) {
      if (isBrokenPipe(e)) shutdown(CLOSED_OUTPUT_STATUS);
      throw e;
    }
  };
  const out = new Output({
    format: cli.format,
    color: cli.color === false ? false : undefined,
    write,
  });
  if (cli.format === "yaml") {
    await (await importShell<typeof import("./output.ts")>("./output.ts")).loadYaml();
  }
  const d = new Dispatcher({ out, interactive, debug: cli.debug });

  // Leaving closes everything we loaded: exit, SIGTERM, SIGHUP, an uncaught error, a closed
  // output; objects JavaScript lines opened outside the session too.
  let leaving = false;
  const shutdown = (status: number): never => {
    if (!leaving) {
      leaving = true;
      d.session.closeAll();
      loadedCore()?.closeAll();
    }
    Deno.exit(status);
  };
  onStdoutClosed(() => shutdown(CLOSED_OUTPUT_STATUS));
  for (const [sig, status] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    Deno.addSignalListener(sig, () => shutdown(status));
  }
  // Ctrl-C stops the running command; with nothing running (non-interactive) it leaves.
  Deno.addSignalListener("SIGINT", () => {
    if (d.interrupt()) {
      if (interactive) out.raw("\n"); // the terminal echoed ^C: end that line
    } else if (!interactive) shutdown(130);
  });
  // An error nobody caught (say, a callback of a JavaScript line): the interactive shell
  // reports it and carries on; otherwise everything is closed and the status is 1.
  const uncaught = (e: Event, err: unknown) => {
    e.preventDefault();
    const print = () => {
      out.error({ command: "", message: `uncaught ${reason(err)}` });
      if (cli.debug && err instanceof Error && err.stack) out.err(err.stack);
    };
    if (!interactive) {
      print();
      shutdown(1);
    }
    d.notify(print);
    // The core closes its objects on an uncaught error: forget the ones it closed.
    setTimeout(() => {
      const gone = d.session.pruneClosed();
      if (gone.length) d.notify(() => out.err(`closed by the error: ${gone.join(", ")}`));
    }, 0);
  };
  globalThis.addEventListener("unhandledrejection", (e) => uncaught(e, e.reason));
  globalThis.addEventListener("error", (e) => uncaught(e, e.error ?? e.message));

  let ok = true;
  if (cli.commands.length) {
    for (const c of cli.commands) {
      ok = await d.line(c);
      if (!ok || d.exitCode !== undefined) break;
    }
  } else if (cli.rest.length) {
    ok = await d.argv(cli.rest);
  } else if (interactive) {
    const { repl } = await importShell<typeof import("./repl.ts")>("./repl.ts");
    const status = await repl(d);
    d.session.closeAll();
    return status;
  } else {
    ok = await runStdin(d);
  }
  d.session.closeAll();
  if (d.exitCode !== undefined) return d.exitCode;
  return ok ? 0 : d.exitStatusHint;
}

/** Commands piped on stdin: each line as it arrives, stopping at the first failure. */
async function runStdin(d: import("./dispatch.ts").Dispatcher): Promise<boolean> {
  const decoder = new TextDecoderStream();
  const reader = Deno.stdin.readable.pipeThrough(decoder).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += value;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!(await d.line(line))) return false;
      if (d.exitCode !== undefined) return true;
    }
    if (done) break;
  }
  return buf.trim() ? await d.line(buf) : true;
}

function reason(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

if (import.meta.main) {
  const status = await main(Deno.args);
  if (status !== undefined) Deno.exit(status);
}
