/**
 * `run`: a program in the kernel with BPF_PROG_TEST_RUN, or a file — a tracing script
 * (`.ts`/`.js`) or a declarative session (`.yaml`).
 *
 * @module
 */

import { parseWords } from "../args.ts";
import { ShellError } from "../errors.ts";
import { progRunCommand } from "./prog.ts";
import type { CommandSpec } from "./types.ts";
import { scriptRunArgs } from "../script_runner.ts";

/** Files `run` treats as scripts rather than program names. */
export const SCRIPT_RE = /\.(ts|js|mjs|mts)$/;
/** Files `run` treats as declarative sessions. */
export const SESSION_RE = /\.ya?ml$/;

/**
 * Run a tracing script in its own Deno process (as `bpfsh run` runs it), its output straight
 * to the terminal. Ctrl-C reaches it too (it shares the terminal), and the prompt comes back
 * when it has gone; its objects close with it.
 *
 * @param path The script's path.
 * @param args Its arguments.
 * @param signal Ctrl-C: make sure the script stops.
 * @returns When the script has exited; throws when it failed.
 * @example
 * ```ts
 * await runScript("scripts/execsnoop.ts", [], ctx.signal);
 * ```
 */
export async function runScript(path: string, args: string[], signal: AbortSignal): Promise<void> {
  try {
    Deno.statSync(path);
  } catch {
    throw new ShellError(`no script '${path}'`);
  }
  // As `bpfsh run` runs it, not a bare `deno run`: a script that listens for no signal still
  // has everything it attached closed at Ctrl-C (tc filters and their qdisc outlive a process
  // that just dies).
  const child = new Deno.Command(Deno.execPath(), {
    args: scriptRunArgs(path, args),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const stop = () => {
    try {
      child.kill("SIGINT");
    } catch {
      // Already gone.
    }
    // A script that ignores SIGINT is killed after a grace period.
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 3000);
    child.status.finally(() => clearTimeout(t));
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    const status = await child.status;
    if (!status.success && !signal.aborted) {
      throw new ShellError(`script '${path}' exited with status ${status.code}`);
    }
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** `run`: a program (as `prog run`), a tracing script or a session file. */
export const runCommand: CommandSpec = {
  name: "run",
  group: "Programs",
  summary: "test-run a program, or run script.ts / session.yaml",
  description: "test-run a program (BPF_PROG_TEST_RUN, as `prog run`), or run a script.ts " +
    "(in its own process) or a session.yaml (through this shell's commands)",
  args: [
    { name: "what", help: "a program name, a .ts/.js script or a .yaml session", required: true },
    { name: "args", help: "a script's arguments, or `prog run`'s options", variadic: true },
  ],
  raw: true,
  helpText: `
Examples:
  run sock_len --size 64                 test-run a socket filter on a 64-byte packet
  run scripts/execsnoop.ts               a tracing script, in its own process (Ctrl-C stops it)
  run session.yaml                       a declarative session, through this shell's commands

A session file:
  output: json                           # table | json | yaml
  object: { path: x.bpf.o, globals: { filter_uid: 1000 }, attach: all,
            maps: { counts: { 1000: 0 } }, progarray: [{ map: jmp, index: 59, program: p }] }
  run: ["map dump counts", "sleep 1"]    # any commands, and JavaScript lines: a session
                                         # file is as trusted as a script
  tail: { map: events, count: 10, timeout: 5 }
  watch: { map: counts, interval: 1, times: 3 }
  dump: [counts]
  hist: [latency]
`,
  async run(ctx, { positionals }) {
    const [what, ...rest] = positionals;
    if (what === undefined || what.startsWith("-")) {
      // Options first (`run --size 64 sock_len`): a program run.
      return await progRunCommand.run!(ctx, parseWords(positionals, progRunCommand));
    }
    if (SESSION_RE.test(what)) {
      if (rest.length) {
        throw new ShellError(`a session takes no arguments: ${rest.join(" ")}`, { usage: true });
      }
      const { runSessionFile } = await import("../yaml_session.ts");
      await runSessionFile(what, ctx);
      return;
    }
    if (SCRIPT_RE.test(what)) return await runScript(what, rest, ctx.signal);
    return await progRunCommand.run!(ctx, parseWords(positionals, progRunCommand));
  },
};
