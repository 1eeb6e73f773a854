/**
 * `bpfsh run script.ts`: a tracing script as the main program, finishing the way `deno run`
 * would (timers and pending work run to the end; the script's `Deno.exitCode` is the status),
 * plus bpfsh's cleanup where `deno run` would just die (shell/script_cleanup.ts).
 *
 * @module
 */

import { prepareScriptRun } from "./script_cleanup.ts";

/** The module `deno run --preload` runs before a script: {@link prepareScriptRun}. */
export const SCRIPT_PRELOAD = decodeURIComponent(
  new URL("./script_preload.ts", import.meta.url).pathname,
);

/**
 * The `deno` arguments that run a script as `bpfsh run` does: the script as the main module,
 * {@link SCRIPT_PRELOAD} before it. The launcher (`./bpfsh`) spells out the same line.
 *
 * @param path The script.
 * @param args Its arguments.
 * @returns Arguments for `Deno.execPath()`.
 * @example
 * ```ts
 * scriptRunArgs("scripts/syscount.ts", ["-i", "1"]); // ["run", "-A", …, "scripts/syscount.ts", "-i", "1"]
 * ```
 */
export function scriptRunArgs(path: string, args: readonly string[]): string[] {
  return [
    "run",
    "-A",
    "--no-prompt",
    "--quiet",
    "--v8-flags=--max-semi-space-size=4",
    "--preload",
    SCRIPT_PRELOAD,
    path,
    ...args,
  ];
}

/**
 * Run a script in this process: `deno run shell/main.ts run x.ts`. The script is imported, so
 * its `import.meta.main` is false here; the launcher (`./bpfsh run`) and the shell's `run`
 * start it as the main module instead ({@link scriptRunArgs}). In this process, so that
 * whatever ends it (SIGKILL included) ends the script with it.
 *
 * @param path The script.
 * @param args Its arguments, as `Deno.args`.
 * @returns When the top level has finished; false when there is no such script.
 * @example
 * ```ts
 * await runScript("scripts/syscount.ts", ["-i", "1"]);
 * ```
 */
export async function runScript(path: string, args: string[]): Promise<boolean> {
  Object.defineProperty(Deno, "args", { value: Object.freeze([...args]), configurable: true });
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  try {
    if (!Deno.statSync(abs).isFile) throw new Error("not a file");
  } catch {
    console.error(`error: run: no script '${path}'`);
    return false;
  }
  prepareScriptRun();
  await import(new URL(`file://${abs}`).href);
  return true;
}
