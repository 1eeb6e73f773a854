/**
 * The interactive shell: node:readline with persisted history and Tab completion.
 *
 * Ctrl-C: at the prompt readline is in raw mode, so Ctrl-C is a keypress — it clears the
 * line. While a command runs, readline is paused and raw mode is off, so Ctrl-C is a real
 * SIGINT, which stops that command (tail, trace, watch, an `await`) and the prompt returns.
 * Ctrl-D or `exit` leave.
 *
 * @module
 */

import * as readline from "node:readline";
import process from "node:process";
import type { Dispatcher } from "./dispatch.ts";
import { Completer } from "./complete.ts";
import { appendHistory, HISTORY_SIZE, historyPath, readHistory } from "./history.ts";

/**
 * Run the shell until Ctrl-D or `exit`.
 *
 * @param d The dispatcher.
 * @returns The exit status.
 * @example
 * ```ts
 * const status = await repl(new Dispatcher({ interactive: true }));
 * ```
 */
export function repl(d: Dispatcher): Promise<number> {
  const path = historyPath();
  const completer = new Completer(d);
  const prompt = d.out.color ? "\x1b[1;36mbpfsh>\x1b[0m " : "bpfsh> ";
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    prompt,
    history: readHistory(path),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    tabSize: 4,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      completer.complete(line).then((r) => cb(null, r), () => cb(null, [[], line]));
    },
  });

  const queue: string[] = [];
  let running = false;
  let closed = false;
  let done: (status: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));

  const setRaw = (on: boolean) => {
    try {
      if (process.stdin.isTTY) process.stdin.setRawMode(on);
    } catch {
      // Not a terminal any more (hang-up): nothing to restore.
    }
  };

  const leave = (status: number) => {
    if (closed) return;
    closed = true;
    rl.close();
    done(status);
  };

  async function drain(): Promise<void> {
    if (running) return;
    running = true;
    while (queue.length && !closed) {
      const line = queue.shift()!;
      appendHistory(path, line);
      rl.pause();
      setRaw(false);
      try {
        await d.line(line);
      } finally {
        setRaw(true);
      }
      if (d.exitCode !== undefined) return leave(d.exitCode);
      rl.resume();
    }
    running = false;
    if (!closed) rl.prompt();
  }

  // Output from outside a command (an uncaught error) goes above the prompt, which is redrawn.
  d.notify = (print) => {
    if (running || closed) return print();
    process.stdout.write("\r\x1b[K");
    print();
    rl.prompt(true);
  };

  rl.on("line", (line: string) => {
    queue.push(line);
    void drain();
  });
  // Ctrl-C at the prompt: forget the line, like bash.
  rl.on("SIGINT", () => {
    const r = rl as unknown as { line: string; cursor: number };
    process.stdout.write("^C\n");
    r.line = "";
    r.cursor = 0;
    rl.prompt();
  });
  rl.on("close", () => {
    if (!closed) {
      process.stdout.write("\n");
      closed = true;
      done(d.exitCode ?? 0);
    }
  });
  rl.prompt();
  return finished;
}
