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

let runs = 0;

/**
 * Import a tracing script (it uses mod.ts itself); a second run in the same shell
 * re-executes it.
 *
 * @param path The script's path.
 * @returns When its top level has finished.
 * @example
 * ```ts
 * await runScript("scripts/execsnoop.ts");
 * ```
 */
export async function runScript(path: string): Promise<void> {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  try {
    Deno.statSync(abs);
  } catch {
    throw new ShellError(`no script '${path}'`);
  }
  const url = new URL(`file://${abs}`);
  if (runs++ > 0) url.search = `run=${runs}`;
  await import(url.href);
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
    .option("--data <hex>", "packet bytes, e.g. 00112233 (socket filter, xdp, tc…)")
    .option("--size <n>", "a zero-filled packet of N bytes")
    .option("--ctx <hex>", "context bytes (raw_tp arguments…)")
    .option("--repeat <n>", "run N times; the duration is the average", "1")
    .action(
      async (
        what: string,
        opts: { data?: string; size?: string; ctx?: string; repeat: string },
      ) => {
        if (SESSION_RE.test(what)) {
          const { runSessionFile } = await import("../yaml_session.ts");
          await runSessionFile(what, ctx);
          return;
        }
        if (SCRIPT_RE.test(what)) return await runScript(what);
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
