/**
 * What `bpfsh run` puts around a script: signals the script does not listen for end the
 * process with cleanup, as does a closed stdout.
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

/**
 * Make this process ready for a script that is about to run as its main module: end it with
 * cleanup on a signal the script does not listen for, and when nobody reads stdout any more.
 * `deno run --preload` of shell/script_preload.ts calls it, so the script itself is the main
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
