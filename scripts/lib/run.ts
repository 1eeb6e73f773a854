/**
 * The life of a tracing script: parse its command line, run its body with a stop signal
 * that Ctrl-C, SIGTERM and `--duration` trigger, and report failures as one tidy line.
 * The same code serves `deno run -A scripts/x.ts` and `bpfsh run scripts/x.ts`: the script
 * never calls `Deno.exit`, so a shell that imported it keeps running.
 *
 * @module
 */

import { BpfError, closeAll } from "../../mod.ts";
import { type Args, parseToolArgs, type ToolSpec, UsageError } from "./cli.ts";
import { abortableSleep } from "../../shell/sleep.ts";
import { CLOSED_OUTPUT_STATUS, onStdoutClosed } from "../../shell/stdout_closed.ts";

/**
 * When to stop: on Ctrl-C or SIGTERM, or `duration` seconds after {@link Stopper.begin}
 * (so compiling and loading do not eat into the time asked for).
 *
 * @example
 * ```ts
 * using stop = new Stopper(2);
 * stop.begin("Tracing... Hit Ctrl-C to end.");
 * await stop.sleep(Infinity); // ends 2 s later, or at Ctrl-C
 * ```
 */
export class Stopper implements Disposable {
  /** Seconds to run once tracing has begun; undefined: until Ctrl-C. */
  readonly duration?: number;
  readonly #ctl = new AbortController();
  readonly #onSignal = () => this.stop();
  readonly #signals: Deno.Signal[] = [];
  #timer?: ReturnType<typeof setTimeout>;

  /**
   * Listen for SIGINT and SIGTERM until disposed.
   *
   * @param duration Seconds to run after begin(), or undefined for no limit.
   */
  constructor(duration?: number) {
    this.duration = duration;
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      try {
        Deno.addSignalListener(sig, this.#onSignal);
        this.#signals.push(sig);
      } catch {
        // Not every platform has every signal: Ctrl-C alone is enough.
      }
    }
  }

  /**
   * Tracing has begun: print the status line on stderr (stdout stays data only) and start
   * counting the duration.
   *
   * @param message E.g. `"Tracing exec()s... Hit Ctrl-C to end."`.
   * @example
   * ```ts
   * stop.begin("Tracing open()s... Hit Ctrl-C to end.");
   * ```
   */
  begin(message?: string): void {
    if (message) console.error(message);
    if (this.duration === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.stop(), this.duration * 1000);
  }

  /** Aborts when the script should stop. */
  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** Whether the script should stop. */
  get stopped(): boolean {
    return this.#ctl.signal.aborted;
  }

  /**
   * Stop now.
   *
   * @example
   * ```ts
   * stop.stop();
   * ```
   */
  stop(): void {
    this.#ctl.abort();
  }

  /**
   * Wait `ms` milliseconds, or less when stopped meanwhile.
   *
   * @param ms How long; `Infinity` waits until stopped.
   * @returns Whether the script was stopped (rather than the time having passed).
   * @example
   * ```ts
   * while (!(await stop.sleep(1000))) printInterval();
   * ```
   */
  sleep(ms: number): Promise<boolean> {
    return abortableSleep(ms, this.#ctl.signal);
  }

  /** Remove the signal listeners and the timer. */
  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    for (const sig of this.#signals) Deno.removeSignalListener(sig, this.#onSignal);
    this.#signals.length = 0;
  }
}

/**
 * Run a script: parse its arguments (printing `--help`), run `body` with the arguments and
 * a {@link Stopper} set to `--duration` (counted from `stop.begin()`), and print any failure
 * as `NAME: error: …` with its hint on stderr, setting the exit code.
 *
 * @param spec The script's command line.
 * @param body The tracing itself; it should return when `stop.signal` aborts.
 * @returns When the script has finished.
 * @example
 * ```ts
 * await runTool(SPEC, async (args, stop) => {
 *   using obj = await BpfObject.open(new URL("x.bpf.c", import.meta.url).pathname);
 *   obj.load();
 *   obj.attachAll();
 *   stop.begin("Tracing... Hit Ctrl-C to end.");
 *   await stop.sleep(Infinity);
 * });
 * ```
 */
export async function runTool(
  spec: ToolSpec,
  body: (args: Args, stop: Stopper) => Promise<void>,
): Promise<void> {
  // Nobody reads the output any more (`| head`; console.log drops EPIPE without a word):
  // close everything and leave, as SIGPIPE would.
  const unwatch = onStdoutClosed(() => {
    closeAll();
    Deno.exit(CLOSED_OUTPUT_STATUS);
  });
  try {
    const args = parseToolArgs(spec);
    if (!args) return;
    using stop = new Stopper(args.seconds("duration"));
    await body(args, stop);
  } catch (e) {
    Deno.exitCode = e instanceof UsageError ? 2 : 1;
    console.error(errorText(spec.name, e));
  } finally {
    unwatch();
  }
}

/**
 * How a failure is shown: one `NAME: error:` line, then the error's own log tail and hint.
 *
 * @param name The script.
 * @param e What was thrown.
 * @returns The text to print on stderr.
 * @example
 * ```ts
 * errorText("execsnoop", new UsageError("unexpected argument 'x'"));
 * // "execsnoop: error: unexpected argument 'x'\nTry 'execsnoop --help'."
 * ```
 */
export function errorText(name: string, e: unknown): string {
  if (e instanceof UsageError) return `${name}: error: ${e.message}\nTry '${name} --help'.`;
  if (e instanceof BpfError) {
    // The message already carries the log's last lines and the hint.
    let text = `${name}: error: ${e.message}`;
    if (Deno.uid() !== 0 && (e.errno === 1 || e.errno === 13) && !/root/.test(text)) {
      text += "\nhint: tracing needs root (or CAP_BPF and CAP_PERFMON)";
    }
    return text;
  }
  return `${name}: error: ${e instanceof Error ? e.message : String(e)}`;
}
