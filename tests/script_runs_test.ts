// Scripts stay in the user's hands: Ctrl-C (and SIGTERM) on a script that attached a tc program
// to lo leaves no filter, qdisc or program behind, under `deno run` and `bpfsh run`; and
// `bpfsh run` finishes like `deno run` (a timer's callback runs, its exit status counts).
// Needs root (BPF, tc).

import { assert, assertEquals } from "./assert.ts";
import { kernelProgIds, NOT_ROOT, OutputText, ROOT } from "./helpers.ts";
import { DENO } from "./shell_tmux.ts";

/** What tc shows on lo: whether a clsact qdisc is there, and the BPF programs of its filters. */
function tcOnLo(): { clsact: boolean; progIds: number[] } {
  const text = (args: string[]) =>
    new TextDecoder().decode(new Deno.Command("tc", { args, stderr: "null" }).outputSync().stdout);
  const clsact = /qdisc clsact/.test(text(["qdisc", "show", "dev", "lo"]));
  const filters = text(["filter", "show", "dev", "lo", "ingress"]);
  const progIds = [...filters.matchAll(/ id (\d+)/g)].map((m) => Number(m[1]));
  return { clsact, progIds };
}

/** How a script is started: plain Deno, the launcher, or the shell's entry point. */
type How = "deno run" | "bpfsh run" | "main.ts run";

/** Start a script, wait for its "ready ID" line, signal it, and wait for it to end. */
async function holdAndSignal(
  how: How,
  mode: "tool" | "bare",
  signal: Deno.Signal,
): Promise<{ status: Deno.CommandStatus; id: number; during: ReturnType<typeof tcOnLo> }> {
  const script = "tests/fixtures/tc_hold.ts";
  const [cmd, ...args] = {
    "deno run": [DENO, "run", "-A", "--no-prompt", script],
    "bpfsh run": [`${ROOT}/bpfsh`, "run", script],
    "main.ts run": [DENO, "run", "-A", "--no-prompt", "shell/main.ts", "run", script],
  }[how];
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    // Netlink filters: what the script's own cleanup removes (a tcx link goes with its fd).
    env: { TC_HOLD: mode, NO_COLOR: "1", BPFSH_TC: "netlink" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new OutputText(child.stdout);
  await out.until("\n");
  const id = Number(/ready (\d+)/.exec(out.text)?.[1]);
  const during = tcOnLo();
  child.kill(signal);
  const status = await child.status;
  await out.close();
  const stderr = await new Response(child.stderr).text();
  assert(id > 0, `${how} ${mode}: no ready line: ${out.text}${stderr}`);
  return { status, id, during };
}

/** Wait until the kernel has freed a program (after RCU). */
async function gone(id: number): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    if (!kernelProgIds().has(id)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

Deno.test({
  name: "SIGINT or SIGTERM on a script leaves no tc filter, clsact qdisc or program on lo",
  // Root: BPF programs and tc on lo.
  ignore: NOT_ROOT,
  async fn() {
    const before = tcOnLo();
    assertEquals(before.progIds, [], "a tc filter was on lo before the test");
    const cases: [How, "tool" | "bare", Deno.Signal][] = [
      ["deno run", "tool", "SIGINT"],
      ["bpfsh run", "tool", "SIGINT"],
      ["bpfsh run", "bare", "SIGINT"],
      ["bpfsh run", "bare", "SIGTERM"],
      ["main.ts run", "bare", "SIGINT"],
      ["main.ts run", "tool", "SIGTERM"],
    ];
    for (const [how, mode, signal] of cases) {
      const what = `${how} (${mode}) ${signal}`;
      const { status, id, during } = await holdAndSignal(how, mode, signal);
      assertEquals(during.progIds, [id], `${what}: the filter was attached`);
      assert(during.clsact, `${what}: bpfsh created the clsact qdisc`);
      const after = tcOnLo();
      assertEquals(after.progIds, [], `${what}: the filter is gone`);
      assertEquals(after.clsact, before.clsact, `${what}: the qdisc bpfsh created is gone`);
      assert(await gone(id), `${what}: program ${id} is still loaded`);
      if (mode === "bare") assertEquals(status.code, signal === "SIGINT" ? 130 : 143, what);
    }
  },
});

Deno.test({
  name: "bpfsh run finishes like deno run: the script is the main module, a timer's callback " +
    "runs and its exit status counts",
  async fn() {
    const script = ["tests/fixtures/timer.ts", "a", "b"];
    for (
      const cmd of [
        [DENO, "run", "-A", "--no-prompt", ...script],
        [`${ROOT}/bpfsh`, "run", ...script],
        [DENO, "run", "-A", "--no-prompt", "shell/main.ts", "run", ...script],
        [`${ROOT}/bpfsh`, "-c", `run ${script.join(" ")}`],
      ]
    ) {
      const out = await new Deno.Command(cmd[0], {
        args: cmd.slice(1),
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      const context = `${cmd.join(" ")}: ${text}${new TextDecoder().decode(out.stderr)}`;
      // shell/main.ts imports the script into its own process; the others run it as main.
      const main = cmd.includes("shell/main.ts") ? "false" : "true";
      assert(
        new RegExp(`main module: ${main}, args: \\["a","b"\\]\ntop level done\ntimer ran\n`)
          .test(text),
        context,
      );
      // The shell's `run` reports a failed script as its own error.
      if (cmd[1] !== "-c") assertEquals(out.code, 3, context);
    }
  },
});

Deno.test({
  name: "a closed output pipe (| head) ends scripts, commands and streams promptly, cleaned up",
  // Root: BPF programs.
  ignore: NOT_ROOT,
  async fn() {
    const before = kernelProgIds();
    const sh = `${ROOT}/bpfsh`;
    const demo = `${ROOT}/build/tests/shell_demo.bpf.o`;
    const pipelines = [
      // Prints every second: the next print after head left would have been lost silently.
      `${DENO} run -A --no-prompt scripts/syscount.ts -i 1 | head -3`,
      `${sh} run scripts/syscount.ts -i 1 | head -3`,
      // The header is the only line head wants: nothing is printed after it.
      `${sh} run scripts/execsnoop.ts | head -1`,
      `${sh} -c "load ${demo}; sleep 60" | head -1`,
      `${sh} -c "load ${demo}; map watch counts 1" | head -1`,
    ];
    for (const p of pipelines) {
      const t = performance.now();
      const out = await new Deno.Command("timeout", {
        args: ["60", "sh", "-c", p],
        cwd: ROOT,
        env: { NO_COLOR: "1", BPFSH_HISTORY: "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const ms = performance.now() - t;
      assertEquals(out.code, 0, `${p}: ${new TextDecoder().decode(out.stderr)}`);
      // Compiling or loading takes its time; a pipeline that kept running would take 60 s.
      assert(ms < 20_000, `${p} took ${Math.round(ms)} ms`);
    }
    for (let i = 0; i < 60; i++) {
      const left = [...kernelProgIds()].filter((id) => !before.has(id));
      if (!left.length) return;
      if (i === 59) throw new Error(`programs left loaded: ${left.join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  },
});
