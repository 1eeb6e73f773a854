/**
 * Lifetimes: every resource has an idempotent close(); what is still open when the process
 * leaves (exit, an uncaught error; SIGINT, SIGTERM and SIGHUP through {@link exitOnSignals})
 * is closed here, children first.
 * A FinalizationRegistry closes what the garbage collector finds forgotten: a safety net.
 *
 * @module
 */

/** Anything bpfsh can release. */
export interface Closeable {
  /** Release the resource; calling it again does nothing. */
  close(): void;
  /** Whether close() was called, when the resource can tell. */
  readonly closed?: boolean;
}

const live = new Set<WeakRef<Closeable>>();
let exitHooksInstalled = false;

/**
 * Release a native handle when its owner is garbage collected without close().
 * The held value is a function that frees the native state; it must not refer to the owner.
 */
const forgotten = new FinalizationRegistry<() => void>((release) => {
  try {
    release();
  } catch {
    // A safety net must never throw from the GC.
  }
});

/**
 * Track a resource so it is closed on exit, and freed if it is collected unclosed.
 *
 * @param resource The owner object.
 * @param release Frees the native state; must not capture `resource`.
 * @returns A function to call from close() that stops the tracking.
 * @example
 * ```ts
 * const untrack = track(this, () => lib.bpf_object__close(ptr));
 * ```
 */
export function track(resource: Closeable, release: () => void): () => void {
  installExitHooks();
  const ref = new WeakRef(resource);
  live.add(ref);
  const token = {};
  forgotten.register(resource, release, token);
  return () => {
    live.delete(ref);
    forgotten.unregister(token);
  };
}

/**
 * Close every tracked resource that is still open (newest first).
 *
 * @returns How many were closed.
 * @example
 * ```ts
 * closeAll(); // on the way out
 * ```
 */
export function closeAll(): number {
  let n = 0;
  for (const ref of [...live].reverse()) {
    const r = ref.deref();
    live.delete(ref);
    if (!r) continue;
    try {
      r.close();
      n++;
    } catch {
      // Keep closing the others.
    }
  }
  return n;
}

/**
 * How many tracked resources are open now.
 *
 * @returns The count.
 * @example
 * ```ts
 * openCount(); // 0 after every object was closed
 * ```
 */
export function openCount(): number {
  let n = 0;
  for (const ref of live) if (ref.deref()) n++;
  return n;
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  globalThis.addEventListener("unload", () => closeAll());
  // An error a host (the shell) handled and prevented does not end the process: keep all.
  globalThis.addEventListener("error", (e) => {
    if (!e.defaultPrevented) closeAll();
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    if (!e.defaultPrevented) closeAll();
  });
}

/** Exit statuses by signal, the shell's convention (128 + the signal's number). */
const SIGNAL_STATUS: Record<ExitSignal, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** A signal {@link exitOnSignals} can handle. */
export type ExitSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/**
 * Close everything bpfsh opened and exit when one of these signals arrives. Importing the
 * library installs no signal handler: the host decides. Runners call this (the `bpfsh`
 * launcher, `bpfsh run`, the scripts' runner); a script run with plain `deno run` calls it
 * itself when it wants bpfsh's cleanup on Ctrl-C. The kernel frees fds at exit anyway, and
 * the reaper (bpf/link/reaper.ts) removes netlink tc filters and legacy probe events after
 * any death, but close() undoes everything at once, in order, and the leak checks stay
 * honest.
 *
 * @param signals Which signals (default: SIGINT, SIGTERM and SIGHUP).
 * @returns A function that removes the handlers again.
 * @example
 * ```ts
 * import { exitOnSignals } from "./mod.ts";
 *
 * const restore = exitOnSignals(); // Ctrl-C now detaches everything, then exits 130
 * restore();
 * ```
 */
export function exitOnSignals(
  signals: readonly ExitSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"],
): () => void {
  const installed: [ExitSignal, () => void][] = [];
  for (const sig of signals) {
    const handler = () => {
      closeAll();
      Deno.exit(SIGNAL_STATUS[sig]);
    };
    try {
      Deno.addSignalListener(sig, handler);
      installed.push([sig, handler]);
    } catch {
      // Signals are not available everywhere (e.g. some test sandboxes).
    }
  }
  return () => {
    for (const [sig, handler] of installed) Deno.removeSignalListener(sig, handler);
  };
}
