/**
 * `run`: a program in the kernel with BPF_PROG_TEST_RUN, or a file — a tracing script
 * (`.ts`/`.js`) or a declarative session (`.yaml`).
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { ShellError } from "../errors.ts";
import { toHex } from "../output.ts";
import { parseCount, parseHex } from "../values.ts";

/** Files `run` treats as scripts rather than program names. */
export const SCRIPT_RE = /\.(ts|js|mjs|mts)$/;
/** Files `run` treats as declarative sessions. */
export const SESSION_RE = /\.ya?ml$/;

/**
 * Run a tracing script in its own Deno process, its output straight to the terminal. Ctrl-C
 * reaches it too (it shares the terminal), and the prompt comes back when it has gone; its
 * objects close with it.
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
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", path, ...args],
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

/**
 * Register `run`.
 *
 * @param program The root command.
 * @param ctx What the commands use.
 * @example
 * ```ts
 * register(program, ctx);
 * ```
 */
export function register(program: Command, ctx: Ctx): void {
  const { session, out } = ctx;
  program.command("run").helpGroup("Programs:")
    .summary("test-run a program, or run script.ts / session.yaml")
    .description("test-run a program (BPF_PROG_TEST_RUN), or run a script.ts / session.yaml")
    .argument("<what>", "a program name, a .ts/.js script or a .yaml session")
    .argument("[args...]", "a script's arguments (after --, when they look like options)")
    .allowUnknownOption()
    .option("--data <hex>", "packet bytes, e.g. 00112233 (socket filter, xdp, tc…)")
    .option("--size <n>", "a zero-filled packet of N bytes")
    .option("--ctx <hex>", "context bytes (raw_tp arguments…)")
    .option("--repeat <n>", "run N times; the duration is the average", "1")
    .addHelpText(
      "after",
      `
Examples:
  run sock_len --size 64                 test-run a socket filter on a 64-byte packet
  run scripts/execsnoop.ts               a tracing script, in its own process (Ctrl-C stops it)
  run session.yaml                       a declarative session, through this shell's commands

A session file:
  output: json                           # table | json | yaml
  object: { path: x.bpf.o, globals: { filter_uid: 1000 }, attach: all,
            maps: { counts: { 1000: 0 } }, progarray: [{ map: jmp, index: 59, program: p }] }
  run: ["map dump counts", { sleep: 1 }]  # any commands
  tail: { map: events, count: 10, timeout: 5 }
  watch: { map: counts, interval: 1, times: 3 }
  dump: [counts]
  hist: [latency]
`,
    )
    .action(
      async (
        what: string,
        args: string[],
        opts: { data?: string; size?: string; ctx?: string; repeat: string },
      ) => {
        if (SESSION_RE.test(what)) {
          const { runSessionFile } = await import("../yaml_session.ts");
          await runSessionFile(what, ctx);
          return;
        }
        if (SCRIPT_RE.test(what)) return await runScript(what, args, ctx.signal);
        if (args.length) {
          throw new ShellError(`unexpected ${args.map((a) => `'${a}'`).join(" ")}`, {
            usage: true,
          });
        }
        const { prog } = session.prog(what);
        const data = opts.data !== undefined
          ? parseHex(opts.data)
          : opts.size !== undefined
          ? new Uint8Array(parseCount(opts.size, "--size"))
          : undefined;
        const res = prog.testRun({
          data,
          ctx: opts.ctx !== undefined ? parseHex(opts.ctx) : undefined,
          repeat: parseCount(opts.repeat, "--repeat"),
        });
        const rec: Record<string, unknown> = {
          program: prog.name,
          retval: res.retval,
          duration_ns: res.duration,
        };
        if (res.data?.length) rec.data = out.format === "table" ? toHex(res.data) : res.data;
        out.record(rec);
      },
    );
}
