/**
 * `bpfsh run script.ts`: a tracing script as the main program, finishing the way `deno run`
 * would (timers and pending work run to the end; the script's `Deno.exitCode` is the status),
 * plus bpfsh's cleanup where `deno run` would just die.
 *
 * Signals: a signal the script listens for itself is the script's (a tool that prints its
 * summary at Ctrl-C keeps doing so). A signal it does not listen for would end a `deno run`
 * at once; here it first closes everything bpfsh opened (the reaper would remove netlink tc
 * filters and legacy probe events only after the process), then exits with 128 + the
 * signal's number.
 *
 * Imports only the lifetime module, so a script run pays for nothing else of the shell.
 *
 * @module
 */

import { closeAll } from "../bpf/object/lifetime.ts";
import { CLOSED_OUTPUT_STATUS, onStdoutClosed } from "./stdout_closed.ts";

const HANDLED = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type Handled = keyof typeof HANDLED;

/**
 * Count the script's own signal listeners, by wrapping `Deno.addSignalListener` and
 * `Deno.removeSignalListener`, and end the process with cleanup on a signal nobody else
 * listens for.
 *
 * @returns The live count of the script's listeners per signal (for tests).
 * @example
 * ```ts
 * const own = watchSignals();
 * own.get("SIGINT"); // 0 until the script adds a listener
 * ```
 */
export function watchSignals(): Map<Deno.Signal, number> {
  const own = new Map<Deno.Signal, number>();
  const add = Deno.addSignalListener.bind(Deno);
  const remove = Deno.removeSignalListener.bind(Deno);
  const listeners = new Map<() => void, Deno.Signal[]>();
  const wrap = (name: string, value: unknown) =>
    Object.defineProperty(Deno, name, { value, configurable: true, writable: true });
  wrap("addSignalListener", (sig: Deno.Signal, handler: () => void) => {
    add(sig, handler);
    own.set(sig, (own.get(sig) ?? 0) + 1);
    listeners.set(handler, [...(listeners.get(handler) ?? []), sig]);
  });
  wrap("removeSignalListener", (sig: Deno.Signal, handler: () => void) => {
    remove(sig, handler);
    const sigs = listeners.get(handler);
    const at = sigs?.indexOf(sig) ?? -1;
    if (sigs && at >= 0) {
      sigs.splice(at, 1);
      own.set(sig, (own.get(sig) ?? 1) - 1);
    }
  });
  for (const sig of Object.keys(HANDLED) as Handled[]) {
    try {
      add(sig, () => {
        if (own.get(sig)) return; // the script's own listener decides
        closeAll();
        Deno.exit(HANDLED[sig]);
      });
    } catch {
      // A platform without this signal.
    }
  }
  return own;
}

/** The module `deno run --preload` runs before a script: {@link prepareScriptRun}. */
export const SCRIPT_PRELOAD = decodeURIComponent(
  new URL("./script_preload.ts", import.meta.url).pathname,
);

/**
 * Make this process ready for a script that is about to run as its main module: end it with
 * cleanup on a signal the script does not listen for, and when nobody reads stdout any more.
 * `deno run --preload` of {@link SCRIPT_PRELOAD} calls it, so the script itself is the main
 * module (its `import.meta.main` is true and `Deno.args` are its own), as under `deno run`.
 *
 * @example
 * ```ts
 * prepareScriptRun();
 * ```
 */
export function prepareScriptRun(): void {
  watchSignals();
  // Nobody reads the output any more (`| head`): close everything and leave, as SIGPIPE would.
  onStdoutClosed(() => {
    closeAll();
    Deno.exit(CLOSED_OUTPUT_STATUS);
  });
}

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
