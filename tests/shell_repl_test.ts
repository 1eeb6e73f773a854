// The interactive shell, driven for real in a pseudo-terminal (tmux): load, attach, execs
// counted, tail with Ctrl-C, Tab completion, JavaScript over a map, history, and leaving
// with nothing loaded. Needs root (BPF) and tmux.

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { fixture, kernelProgIds, NOT_ROOT, run } from "./helpers.ts";
import { HAVE_TMUX, progIdsOf, TmuxShell } from "./shell_tmux.ts";

const DEMO = fixture("shell_demo");

/** Wait until none of the programs is loaded any more (the kernel frees them after RCU). */
async function assertUnloaded(ids: number[]): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const live = kernelProgIds();
    const left = ids.filter((id) => live.has(id));
    if (!left.length) return;
    await new Promise((r) => setTimeout(r, 50));
    if (i === 59) throw new Error(`programs still loaded after exit: ${left.join(", ")}`);
  }
}

/** Run /bin/true a few times (each exec fires the demo's tracepoint). */
function execs(n: number): void {
  for (let i = 0; i < n; i++) run("/bin/true");
}

Deno.test({
  name: "the shell loads, counts execs, tails events, completes, evaluates JS and leaves nothing",
  // Root: loading BPF programs; tmux: the pseudo-terminal.
  ignore: NOT_ROOT || !HAVE_TMUX,
  async fn() {
    const history = await Deno.makeTempFile({ prefix: "bpfsh_history_" });
    const sh = new TmuxShell({ BPFSH_HISTORY: history });
    try {
      await sh.ready();
      console.log(`prompt after ${sh.promptMs.toFixed(0)} ms (tmux start-up included)`);
      assert(!sh.screen(true).includes("\x1b["), "NO_COLOR: no colour escapes");

      sh.type(`load ${DEMO}`);
      await sh.waitFor("loaded shell_demo: 2 programs");
      const ids = progIdsOf(sh.pid());
      assertEquals(ids.length, 2, "the shell holds both programs");

      // Execs are counted per uid (0 here); other processes may exec too, so at least 5.
      execs(5);
      let mark = sh.mark();
      sh.type("map dump counts");
      const dump = await sh.waitFor(/KEY\s+VALUE\n\s*0\s+(\d+)/, 10_000, mark);
      const count = Number(/KEY\s+VALUE\n\s*0\s+(\d+)/.exec(dump)![1]);
      assert(count >= 5, `counts[0] = ${count}, expected at least 5`);

      // tail prints decoded events until Ctrl-C, then the prompt comes back.
      mark = sh.mark();
      sh.type("tail events");
      await sh.waitFor("tailing events", 10_000, mark);
      execs(3);
      await sh.waitFor(/PID\s+UID\s+COMM\n(.*\n)*\d+\s+0\s+true/, 10_000, mark);
      sh.keys("C-c");
      // The terminal echoes ^C where the cursor is (events of the last batch may follow).
      await sh.waitFor(/\^C[\s\S]*\nbpfsh> \n$/, 10_000, mark);
      mark = sh.mark();
      sh.type("1 + 1");
      await sh.waitFor(/\n2\nbpfsh> /, 10_000, mark);

      // Tab completes a map name.
      mark = sh.mark();
      sh.type("map hist pid_h", false);
      sh.keys("Tab");
      await sh.waitFor("map hist pid_hist", 10_000, mark);
      sh.keys("Enter");
      await sh.waitFor(/value\s+: count\s+distribution/, 10_000, mark);

      // A JavaScript line reads a map.
      mark = sh.mark();
      sh.type("[...counts.entries()].length + ':' + (counts.get(0) >= 5n)");
      await sh.waitFor(`"1:true"`, 10_000, mark);

      // Ctrl-C at the prompt forgets the line.
      mark = sh.mark();
      sh.type("this is not run", false);
      sh.keys("C-c");
      sh.type("6 * 7");
      const after = await sh.waitFor(/\n42\n/, 10_000, mark);
      assert(!after.includes("error"), `Ctrl-C at the prompt ran the line:\n${after}`);

      // An error is one line with a hint; the shell stays.
      mark = sh.mark();
      sh.type("map dump cnts");
      await sh.waitFor("error: map dump: no map named 'cnts' (hint: maps: counts", 10_000, mark);

      // A tracing script runs in its own process; the prompt comes back when it is done.
      mark = sh.mark();
      sh.type("run tests/fixtures/shell_script.ts a b");
      await new Promise((r) => setTimeout(r, 300));
      execs(3);
      await sh.waitFor(/\{"args":\["a","b"\],"pid":\d+,"comm":"[^"]+"\}\nbpfsh> /, 10_000, mark);

      sh.type("exit");
      await sh.exited();
      await assertUnloaded(ids);
      const hist = await Deno.readTextFile(history);
      assertMatch(hist, "map dump counts\n");
      assertMatch(hist, "tail events\n");
    } finally {
      sh.kill();
      await Deno.remove(history).catch(() => {});
    }
  },
});

Deno.test({
  name: "Ctrl-D leaves the shell, and history typed earlier comes back with the Up key",
  // Root: loading BPF programs; tmux: the pseudo-terminal.
  ignore: NOT_ROOT || !HAVE_TMUX,
  async fn() {
    const history = await Deno.makeTempFile({ prefix: "bpfsh_history_" });
    await Deno.writeTextFile(history, `load ${DEMO} --no-attach\n`);
    const sh = new TmuxShell({ BPFSH_HISTORY: history });
    try {
      await sh.ready();
      sh.keys("Up", "Enter");
      await sh.waitFor("loaded shell_demo: 2 programs, 5 maps, 0 links");
      const ids = progIdsOf(sh.pid());
      assertEquals(ids.length, 2);
      sh.keys("C-d");
      await sh.exited();
      await assertUnloaded(ids);
    } finally {
      sh.kill();
      await Deno.remove(history).catch(() => {});
    }
  },
});

Deno.test({
  name: "SIGTERM closes everything the shell loaded (and without NO_COLOR the prompt is coloured)",
  // Root: loading BPF programs; tmux: the pseudo-terminal.
  ignore: NOT_ROOT || !HAVE_TMUX,
  async fn() {
    const sh = new TmuxShell({ BPFSH_HISTORY: "", NO_COLOR: "" });
    try {
      await sh.waitFor("bpfsh>");
      // deno-lint-ignore no-control-regex
      assertMatch(sh.screen(true), /\x1b\[[0-9;]*mbpfsh>/);
      sh.type(`load ${DEMO}`);
      await sh.waitFor("loaded shell_demo");
      assertMatch(sh.screen(true), "\x1b[1mshell_demo");
      const pid = sh.pid();
      const ids = progIdsOf(pid);
      assertEquals(ids.length, 2);
      Deno.kill(pid, "SIGTERM");
      await sh.exited();
      await assertUnloaded(ids);
    } finally {
      sh.kill();
    }
  },
});

Deno.test({
  name:
    "a runaway JavaScript line is stopped within its budget with the session intact, and SIGTERM during one cleans up",
  // Root: loading BPF programs; tmux: the pseudo-terminal.
  ignore: NOT_ROOT || !HAVE_TMUX,
  async fn() {
    const sh = new TmuxShell({ BPFSH_HISTORY: "", BPFSH_JS_TIMEOUT: "1" });
    try {
      await sh.ready();
      sh.type(`load ${DEMO}`);
      await sh.waitFor("loaded shell_demo");
      const pid = sh.pid();
      const ids = progIdsOf(pid).sort();
      assertEquals(ids.length, 2);
      let mark = sh.mark();
      sh.type("let spins = 0; while (true) { spins++ }");
      await new Promise((r) => setTimeout(r, 200));
      sh.keys("C-c"); // it cannot cut the line short, and must not break anything either
      await sh.waitFor(
        /stopped after 1 s of running without a pause[\s\S]*bpfsh> \n$/,
        10_000,
        mark,
      );
      assertEquals(progIdsOf(pid).sort(), ids, "the session's programs are still loaded");
      mark = sh.mark();
      sh.type("map count pid_hist; spins > 0");
      await sh.waitFor(/\n64\ntrue\nbpfsh> \n$/, 10_000, mark);
      // SIGTERM while a line spins: the shell leaves, with everything closed.
      sh.type("while (true) {}");
      await new Promise((r) => setTimeout(r, 200));
      Deno.kill(pid, "SIGTERM");
      await sh.exited(10_000);
      await assertUnloaded(ids);
    } finally {
      sh.kill();
    }
  },
});
