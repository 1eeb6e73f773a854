// `probe '...'` in the interactive shell, driven for real in a pseudo-terminal (tmux):
// printf output streams until Ctrl-C, the program keeps running, its maps show in `maps`,
// `map dump @name` and JavaScript, Tab completes probe names, exit() prints the maps as
// bpftrace does, and `unload` frees everything. Needs root (BPF) and tmux.

import { assert, assertEquals } from "./assert.ts";
import { kernelProgIds, NOT_ROOT } from "./helpers.ts";
import { HAVE_TMUX, progIdsOf, TmuxShell } from "./shell_tmux.ts";

Deno.test({
  name: "probe '...' in the shell: streams printf, keeps running, maps in JS, completes, unloads",
  ignore: NOT_ROOT || !HAVE_TMUX,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_probe_shell_" });
    const comm = `btsh${Deno.pid % 100000}`;
    await Deno.copyFile("/bin/cat", `${dir}/${comm}`);
    await Deno.chmod(`${dir}/${comm}`, 0o755);
    await Deno.writeTextFile(`${dir}/seen.txt`, "x\n");
    const cat = () =>
      new Deno.Command(`${dir}/${comm}`, { args: ["seen.txt"], cwd: dir, stdout: "null" })
        .outputSync();
    const sh = new TmuxShell({ BPFSH_HISTORY: "" });
    try {
      await sh.ready();
      const before = progIdsOf(sh.pid()).length;
      let mark = sh.mark();
      sh.type(
        `probe 'tracepoint:syscalls:sys_enter_openat /comm == "${comm}"/ ` +
          `{ @opens[str(args->filename)] = count(); printf("open %s\\n", str(args->filename)); }'`,
      );
      await sh.waitFor("Attaching 1 probe...", 20_000, mark);
      cat();
      await sh.waitFor("open seen.txt", 10_000, mark);
      sh.keys("C-c");
      await sh.waitFor(/keeps running[^\n]*@opens as at_opens/, 10_000, mark);
      const ids = progIdsOf(sh.pid()).slice(before);
      assert(ids.length >= 1, "the program stays loaded after Ctrl-C");

      // Still counting in the background; the map is in `maps`, `map dump @opens` and JS.
      cat();
      mark = sh.mark();
      sh.type("maps");
      await sh.waitFor(/at_opens\s+percpu_hash\s+char\[64\]/, 10_000, mark);
      mark = sh.mark();
      sh.type("map dump @opens");
      await sh.waitFor(/seen\.txt\s+\[/, 10_000, mark);
      mark = sh.mark();
      sh.type(
        "String([...at_opens.entries()].find(([k]) => k === 'seen.txt')[1].reduce((a, b) => a + b))",
      );
      await sh.waitFor(`"2"`, 10_000, mark);

      // Tab completes probe names inside the program.
      mark = sh.mark();
      sh.type("probe 'tracepoint:sched:sched_process_ex", false);
      sh.keys("Tab");
      sh.keys("Tab"); // two matches: the second Tab lists them
      await sh.waitFor("tracepoint:sched:sched_process_exec", 10_000, mark);
      sh.keys("C-c");

      // exit() ends a second program and prints its maps as bpftrace does.
      mark = sh.mark();
      sh.type(`probe --name ticker 'interval:ms:50 { @ticks++; if (@ticks == 2) { exit(); } }'`);
      await sh.waitFor(/Attaching 1 probe\.\.\.\n\n\n@ticks: 2\n/, 20_000, mark);

      mark = sh.mark();
      sh.type("unload probe");
      await sh.waitFor("unloaded probe", 10_000, mark);
      sh.type("unload ticker");
      await sh.waitFor("unloaded ticker", 10_000, mark);
      for (let i = 0; i < 60; i++) {
        const live = kernelProgIds();
        if (!ids.some((id) => live.has(id))) break;
        if (i === 59) throw new Error("the probe's programs are still loaded after unload");
        await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(progIdsOf(sh.pid()).length, before);
      sh.type("exit");
      await sh.exited();
    } finally {
      sh.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
