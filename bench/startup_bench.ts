/**
 * Start-up benchmark of the shell (run as root from the repository root):
 *
 * - prompt: spawn `./bpfsh` (the launcher, as a user types it) in a pseudo-terminal
 *   (util-linux `script`) until `bpfsh>` shows;
 * - first event: spawn `./bpfsh run tests/fixtures/shell_script.ts` (a precompiled object,
 *   one ring buffer) while another process (at nice 19) execs /bin/true in a loop, until the
 *   first event line; also without the launcher (`deno run shell/main.ts run …`);
 * - baselines: `deno run` of an empty script (the floor), and `deno run` of the same script
 *   without the shell.
 *
 * ```sh
 * ./node_modules/.bin/deno run -A bench/startup_bench.ts [runs]
 * ```
 *
 * @module
 */

import { OutputText } from "../tests/output_text.ts";
import { median, ROOT } from "./stats.ts";

const DENO = `${ROOT}/node_modules/.bin/deno`;
const RUNS = Number(Deno.args[0] ?? 15);

/** Spawn a command and time until its stdout contains `marker`; then kill it. */
async function timeTo(
  cmd: string[],
  marker: string,
  stdin: "piped" | "null" = "null",
): Promise<number> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    env: { NO_COLOR: "1", BPFSH_HISTORY: "" },
    stdin,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = new OutputText(child.stdout);
  const ms = await out.until(marker) ? performance.now() - t0 : NaN;
  try {
    child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  await out.close();
  if (stdin === "piped") await child.stdin.close().catch(() => {});
  await child.status;
  if (Number.isNaN(ms)) {
    throw new Error(`'${cmd.join(" ")}' never printed '${marker}': ${out.text}`);
  }
  return ms;
}

function stats(name: string, xs: number[]): void {
  xs.sort((a, b) => a - b);
  const med = median(xs);
  console.log(
    `${name.padEnd(34)} median ${med.toFixed(1).padStart(6)} ms   min ${
      xs[0].toFixed(1).padStart(6)
    }   max ${xs[xs.length - 1].toFixed(1).padStart(6)}   (${xs.length} runs)`,
  );
}

/** The shell in a pseudo-terminal, until its prompt. */
const PROMPT = ["script", "-qfec", `${ROOT}/bpfsh`, "/dev/null"];
/** The tracing script. */
const SCRIPT = "tests/fixtures/shell_script.ts";
/** The script run through the shell, until its first event. */
const SHELL_RUN = [`${ROOT}/bpfsh`, "run", SCRIPT];
/** The same without the launcher. */
const MAIN_RUN = [DENO, "run", "-A", "--no-prompt", "shell/main.ts", "run", SCRIPT];

const empty = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(empty, 'console.log("ready");\n');
// Warm Deno's transpile cache first: the numbers are for an installed shell.
await timeTo([DENO, "run", "-A", empty], "ready");
await timeTo(
  PROMPT,
  "bpfsh>",
  "piped",
);

// The exec loop runs at the lowest priority: on 2 cores it must not steal the CPU of the
// process being timed, only give it an exec to report as soon as it is ready.
const loop = new Deno.Command("nice", {
  args: ["-n", "19", "sh", "-c", "while :; do /bin/true; done"],
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  await timeTo(SHELL_RUN, "comm");
  const base: number[] = [];
  const prompt: number[] = [];
  const event: number[] = [];
  const direct: number[] = [];
  const main: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(await timeTo([DENO, "run", "-A", empty], "ready"));
    prompt.push(
      await timeTo(
        PROMPT,
        "bpfsh>",
        "piped",
      ),
    );
    direct.push(await timeTo([DENO, "run", "-A", "--no-prompt", SCRIPT], "comm"));
    main.push(await timeTo(MAIN_RUN, "comm"));
    event.push(await timeTo(SHELL_RUN, "comm"));
  }
  stats("deno run (empty script)", base);
  stats("bpfsh prompt (in a pty)", prompt);
  stats("deno run script.ts -> first event", direct);
  stats("main.ts run script.ts -> first event", main);
  stats("bpfsh run script.ts -> first event", event);
} finally {
  loop.kill("SIGKILL");
  await loop.status;
  await Deno.remove(empty);
}
