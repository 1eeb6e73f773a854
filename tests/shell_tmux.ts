/**
 * Drive the real shell in a pseudo-terminal: a private tmux server per test, keys sent with
 * send-keys, the screen read back with capture-pane.
 *
 * @module
 */

import { ROOT } from "./helpers.ts";

/** Whether tmux is installed. */
export const HAVE_TMUX = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/** The deno binary the shell runs with. */
export const DENO = `${ROOT}/node_modules/.bin/deno`;

let serial = 0;

/** A shell running in a private tmux server. */
export class TmuxShell {
  readonly socket = `bpfsh_test_${Deno.pid}_${serial++}`;
  readonly started = performance.now();
  /** Milliseconds from spawning to the first prompt on screen. */
  promptMs = NaN;

  /**
   * Start the shell in a 150x50 terminal.
   *
   * @param env Extra environment (NO_COLOR is always set, so the screen is plain text).
   * @param args Arguments for shell/main.ts.
   */
  constructor(env: Record<string, string> = {}, args: string[] = []) {
    const vars = Object.entries({ NO_COLOR: "1", TERM: "xterm-256color", ...env })
      .map(([k, v]) => `${k}=${quote(v)}`);
    const cmd = `cd ${quote(ROOT)} && exec env ${vars.join(" ")} ${
      quote(DENO)
    } run -A --no-prompt shell/main.ts ${args.map(quote).join(" ")}`;
    this.#tmux("new-session", "-d", "-s", "t", "-x", "150", "-y", "50", cmd);
    this.#tmux("set-option", "-t", "t", "remain-on-exit", "on");
  }

  #tmux(...args: string[]): string {
    const out = new Deno.Command("tmux", { args: ["-L", this.socket, ...args], stderr: "piped" })
      .outputSync();
    return new TextDecoder().decode(out.stdout);
  }

  /** Type keys (tmux key names such as `Enter`, `Tab`, `C-c`, `C-d` are understood). */
  keys(...keys: string[]): void {
    this.#tmux("send-keys", "-t", "t", ...keys);
  }

  /** Type text literally (no key names), then optionally Enter. */
  type(text: string, enter = true): void {
    this.#tmux("send-keys", "-t", "t", "-l", text);
    if (enter) this.keys("Enter");
  }

  /** The whole screen and scrollback, as plain text (with colour escapes when asked). */
  screen(escapes = false): string {
    const flags = escapes ? ["-e"] : [];
    // The empty rows below the cursor are not output: drop them, so lengths mark progress.
    return this.#tmux("capture-pane", "-p", "-J", ...flags, "-S", "-1000", "-t", "t")
      .replace(/\n+$/, "\n");
  }

  /** Where the next output starts: the beginning of the last line on screen (the prompt). */
  mark(): number {
    const s = this.screen();
    return s.lastIndexOf("\n", s.length - 2) + 1;
  }

  /** The pid of the shell (the pane's process). */
  pid(): number {
    return Number(this.#tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").trim());
  }

  /** Whether the shell has exited (the pane stays, marked dead). */
  dead(): boolean {
    return this.#tmux("list-panes", "-t", "t", "-F", "#{pane_dead}").trim() === "1";
  }

  /**
   * Wait until the screen matches, polling every 20 ms.
   *
   * @param what A substring or regex.
   * @param ms How long to wait.
   * @param from Only look at the screen after this many characters (output of earlier steps).
   * @returns The screen.
   */
  async waitFor(what: string | RegExp, ms = 10_000, from = 0): Promise<string> {
    const end = performance.now() + ms;
    for (;;) {
      const s = this.screen().slice(from);
      if (typeof what === "string" ? s.includes(what) : what.test(s)) return s;
      if (performance.now() > end) {
        throw new Error(`timed out waiting for ${what}; screen:\n${this.screen()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Wait for the first prompt and record how long it took. */
  async ready(): Promise<void> {
    await this.waitFor("bpfsh> ");
    this.promptMs = performance.now() - this.started;
  }

  /** Wait until the shell has exited. */
  async exited(ms = 10_000): Promise<void> {
    const end = performance.now() + ms;
    while (!this.dead()) {
      if (performance.now() > end) {
        throw new Error(`the shell did not exit; screen:\n${this.screen()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Kill the tmux server (and the shell with it), and remove its socket file. */
  kill(): void {
    try {
      this.#tmux("kill-server");
    } catch {
      // Already gone.
    }
    const dir = `${Deno.env.get("TMUX_TMPDIR") ?? "/tmp"}/tmux-${Deno.uid()}`;
    try {
      Deno.removeSync(`${dir}/${this.socket}`);
    } catch {
      // tmux removed it, or it never existed.
    }
  }
}

/**
 * Kernel ids of the BPF programs a process holds (from its fdinfo).
 *
 * @param pid The process.
 * @returns Program ids.
 */
export function progIdsOf(pid: number): number[] {
  const ids = new Set<number>();
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/fdinfo`)) {
      try {
        const m = /prog_id:\s*(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/fdinfo/${e.name}`));
        if (m) ids.add(Number(m[1]));
      } catch {
        // The fd closed meanwhile.
      }
    }
  } catch {
    // The process is gone.
  }
  return [...ids];
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
