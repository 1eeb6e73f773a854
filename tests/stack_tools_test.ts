/**
 * Stacks for real (root): the stack_chain fixture (main → alpha → beta → gamma, gamma
 * calling getppid in a loop, built with frame pointers) traced by stackcount, profile and
 * offcputime run as subprocesses, a stripped copy named through its debug file's build-id
 * path, V8's JIT frames through /tmp/perf-PID.map, and bpf_get_stack() into ring-buffer
 * events decoded by the BTF codec. Every fixture process exits before its stacks are
 * printed: they are named from what was read while it lived.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { NOT_ROOT, OutputText, ROOT, scriptCommand } from "./helpers.ts";
import { BpfObject } from "../mod.ts";
import { stackAddresses } from "../bpf/stack/capture.ts";
import { decodePprof } from "../bpf/stack/pprof.ts";
import { formatFrame } from "../bpf/stack/frame.ts";
import { Symbolizer } from "../bpf/stack/symbolizer.ts";

const CHAIN = `${ROOT}/build/tests/stack_chain`;
const CHAIN_FUNCTIONS = ["gamma", "beta", "alpha", "main"];

/** A stack tool's run: its output, and whether the fixture had exited before it printed. */
interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run scripts/NAME.ts; once it says it is tracing, run `workload`, then let the tool's
 * --duration end it.
 */
async function tool(name: string, args: string[], workload: () => Promise<void>): Promise<ToolRun> {
  const child = scriptCommand(name, args).spawn();
  const stdout = new Response(child.stdout).text();
  const errors = new OutputText(child.stderr);
  const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    if (await errors.until(/^(Tracing|Sampling) /m)) await workload();
    const stderr = await errors.rest();
    return { code: (await child.status).code, stdout: await stdout, stderr };
  } finally {
    clearTimeout(kill);
  }
}

/** Run a program to its end. */
async function exec(path: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(path, { args, stdout: "null", stderr: "piped" }).output();
  assert(out.success, `${path}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A private directory holding copies of the fixture under one unique command name. */
function fixtureCopies(): {
  dir: string;
  comm: string;
  plain: string;
  stripped: string;
  debugDir: string;
} {
  const dir = Deno.makeTempDirSync({ prefix: "bpfsh_stack_" });
  const comm = `chain_${crypto.randomUUID().slice(0, 6)}`;
  Deno.mkdirSync(`${dir}/plain`);
  Deno.mkdirSync(`${dir}/stripped`);
  const plain = `${dir}/plain/${comm}`;
  const stripped = `${dir}/stripped/${comm}`;
  Deno.copyFileSync(CHAIN, plain);
  const run = (args: string[]) => {
    const out = new Deno.Command("objcopy", { args, stderr: "piped" }).outputSync();
    assert(out.success, new TextDecoder().decode(out.stderr));
  };
  run(["--only-keep-debug", CHAIN, `${dir}/chain.debug`]);
  run(["--strip-all", CHAIN, stripped]);
  Deno.chmodSync(plain, 0o755);
  Deno.chmodSync(stripped, 0o755);
  const id = new TextDecoder().decode(
    new Deno.Command("readelf", { args: ["-n", CHAIN] }).outputSync().stdout,
  ).match(/Build ID: ([0-9a-f]+)/)![1];
  const debugDir = `${dir}/debug`;
  Deno.mkdirSync(`${debugDir}/.build-id/${id.slice(0, 2)}`, { recursive: true });
  Deno.renameSync(
    `${dir}/chain.debug`,
    `${debugDir}/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`,
  );
  return { dir, comm, plain, stripped, debugDir };
}

/** A stack's function names, without offsets. */
function names(frames: string[]): string[] {
  return frames.map((f) => f.replace(/\+\d+$/, ""));
}

Deno.test({
  name:
    "stackcount names main → alpha → beta → gamma and do_syscall_64, stripped copy too, after exit",
  ignore: NOT_ROOT,
  async fn() {
    const f = fixtureCopies();
    try {
      const args = ["t:syscalls:sys_enter_getppid", "-c", f.comm, "--debug-dir", f.debugDir];
      const r = await tool("stackcount", [...args, "--json", "-d", "1.5"], async () => {
        await exec(f.plain, "150");
        await exec(f.stripped, "150");
      });
      assertEquals(r.code, 0, r.stderr);
      const stacks = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const pids = new Set(stacks.map((s) => s.pid));
      assertEquals(pids.size, 2, `one process each: ${r.stdout}`);
      for (const s of stacks) {
        assertEquals(s.comm, f.comm);
        // Frames innermost first: the syscall is made in gamma itself.
        assertEquals(names(s.user).slice(0, 4), CHAIN_FUNCTIONS, JSON.stringify(s.user));
        assert(names(s.kernel).includes("do_syscall_64"), JSON.stringify(s.kernel));
        assert(s.count > 0);
      }
      // The text layout: kernel frames, "--", user frames, "- comm (pid)", the count.
      const text = await tool("stackcount", [...args, "-d", "1"], () => exec(f.plain, "50"));
      assertMatch(
        text.stdout,
        /do_syscall_64\+\d+\n(?:.*\n)* {4}--\n {4}gamma\+\d+\n {4}beta\+\d+/,
      );
      assertMatch(text.stdout, new RegExp(`-\\s+${f.comm} \\(\\d+\\)\\n\\s+\\d+`));
    } finally {
      Deno.removeSync(f.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "profile --folded prints comm;...;main;alpha;beta;gamma, and its --pprof decodes",
  ignore: NOT_ROOT,
  async fn() {
    const f = fixtureCopies();
    const pprof = `${f.dir}/cpu.pb.gz`;
    try {
      const args = ["-c", f.comm, "-F", "199", "--folded", "--pprof", pprof, "-d", "1.5"];
      const r = await tool("profile", args, () => exec(f.plain, "700"));
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert(lines.every((l) => l.startsWith(`${f.comm};`)), r.stdout);
      assert(
        lines.some((l) => / \d+$/.test(l) && l.includes("main;alpha;beta;gamma")),
        `a line with main;alpha;beta;gamma:\n${r.stdout}`,
      );
      const p = await decodePprof(Deno.readFileSync(pprof));
      assertEquals(p.types, ["samples/count", "cpu/nanoseconds"]);
      const inChain = p.samples.filter((s) => s.frames.join(";").includes("gamma;beta;alpha;main"));
      assert(inChain.length > 0, JSON.stringify(p.samples.slice(0, 3)));
      assertEquals(inChain[0].labels.comm, f.comm);
      const total = p.samples.reduce((n, s) => n + s.values[0], 0);
      const folded = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
      assertEquals(total, folded, "the profile holds the samples the folded lines count");
      if (await has("go")) {
        const go = await new Deno.Command("go", { args: ["tool", "pprof", "-top", pprof] })
          .output();
        assert(go.success, new TextDecoder().decode(go.stderr));
      }
    } finally {
      Deno.removeSync(f.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "offcputime sums the time blocked under schedule, per stack",
  ignore: NOT_ROOT,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "bpfsh_stack_" });
    const comm = `nap_${crypto.randomUUID().slice(0, 6)}`;
    try {
      Deno.copyFileSync("/bin/sleep", `${dir}/${comm}`);
      Deno.chmodSync(`${dir}/${comm}`, 0o755);
      const r = await tool(
        "offcputime",
        ["-c", comm, "--json", "-d", "1"],
        () => exec(`${dir}/${comm}`, "0.2"),
      );
      assertEquals(r.code, 0, r.stderr);
      const stacks = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const nap = stacks.find((s) => names(s.kernel).includes("do_nanosleep"));
      assert(nap, r.stdout);
      assert(names(nap.kernel).some((n: string) => /schedule/.test(n)), JSON.stringify(nap.kernel));
      assert(nap.us >= 150_000 && nap.us < 1_000_000, `blocked ${nap.us} us`);
      assertEquals(nap.comm, comm);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "profile names V8's JIT frames through /tmp/perf-PID.map (Deno with --perf-basic-prof)",
  ignore: NOT_ROOT,
  async fn() {
    const js =
      "function hotLoopForProfile(n) { let x = 0; for (let i = 0; i < n; i++) x += i % 7; " +
      "return x; } const end = Date.now() + 1500; while (Date.now() < end) hotLoopForProfile(1e5);";
    // V8 writes a log beside the perf map: keep it out of the repository.
    const cwd = Deno.makeTempDirSync({ prefix: "bpfsh_jit_" });
    const jit = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--v8-flags=--perf-basic-prof", js],
      cwd,
      stdout: "null",
    }).spawn();
    try {
      const r = await tool(
        "profile",
        ["-p", String(jit.pid), "-F", "199", "--json", "-d", "1"],
        () => Promise.resolve(),
      );
      assertEquals(r.code, 0, r.stderr);
      const frames = r.stdout.trim().split("\n").flatMap((l) => JSON.parse(l).user as string[]);
      assert(frames.some((f) => /hotLoopForProfile/.test(f)), frames.slice(0, 20).join("\n"));
    } finally {
      await jit.status;
      Deno.removeSync(cwd, { recursive: true });
      try {
        Deno.removeSync(`/tmp/perf-${jit.pid}.map`);
      } catch { /* V8 may not have written one */ }
    }
  },
});

Deno.test({
  name: "bpf_get_stack() into ring-buffer events: u64 arrays decoded and named",
  ignore: NOT_ROOT,
  async fn() {
    const f = fixtureCopies();
    try {
      using obj = await BpfObject.open(`${ROOT}/build/tests/stack_events.bpf.o`);
      obj.globals.target_comm = f.comm;
      obj.load();
      obj.attachAll();
      using sym = new Symbolizer();
      const rb = obj.ringbuf<{
        pid: number;
        kstack: bigint[];
        ustack: bigint[];
        kstack_bytes: number;
        ustack_bytes: number;
      }>("stack_events");
      const events: Parameters<Parameters<typeof rb.consume>[0]>[0][] = [];
      const run = exec(f.plain, "100");
      let done = false;
      run.then(() => done = true);
      while (!done) {
        // Read the process's map as soon as its event comes, while it lives.
        await rb.poll(20, (ev) => {
          sym.remember(ev.pid);
          events.push(ev);
        });
      }
      await run;
      rb.consume((ev) => events.push(ev));
      assertEquals(events.length, 1, "one event per process");
      const ev = events[0];
      assert(Array.isArray(ev.ustack) && typeof ev.ustack[0] === "bigint", "u64[] as bigints");
      const user = sym.userFrames(ev.pid, stackAddresses(ev.ustack, ev.ustack_bytes));
      assertEquals(user.slice(0, 4).map((fr) => fr.symbol), CHAIN_FUNCTIONS);
      const kernel = sym.kernelFrames(stackAddresses(ev.kstack, ev.kstack_bytes));
      assert(
        kernel.some((fr) => fr.symbol === "do_syscall_64"),
        kernel.map((x) => formatFrame(x)).join(),
      );
    } finally {
      Deno.removeSync(f.dir, { recursive: true });
    }
  },
});

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command("which", { args: [cmd], stdout: "null" }).output()).success;
  } catch {
    return false;
  }
}

Deno.test("the stack tools print their help; stackcount without a target exits 2", async () => {
  const run = async (name: string, args: string[]) => {
    const out = await scriptCommand(name, args).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const runs = await Promise.all([
    ...["profile", "offcputime", "stackcount"].map((n) => run(n, ["--help"])),
    run("stackcount", []),
    run("stackcount", ["nonsense"]),
    run("profile", ["--folded", "--json"]),
  ]);
  for (const r of runs.slice(0, 3)) {
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, "--folded");
    assertMatch(r.stdout, "--pprof FILE");
  }
  assertEquals(runs[3].code, 2);
  assertMatch(runs[3].stderr, "missing TARGET");
  assertMatch(runs[4].stderr, "expected t:CATEGORY:NAME or u:BINARY:SYMBOL");
  assertMatch(runs[5].stderr, "--folded and --json exclude each other");
});

Deno.test({
  name: "the shell's tail names event stacks, and map dump names a stack map's kernel stacks",
  ignore: NOT_ROOT,
  async fn() {
    const f = fixtureCopies();
    try {
      const shell = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-prompt",
          "shell/main.ts",
          "--json",
          "-c",
          `load build/tests/stack_events.bpf.o --set target_comm=${f.comm}; ` +
          "tail stack_events --count 1 --timeout 20; map dump stack_ids",
        ],
        cwd: ROOT,
        env: { NO_COLOR: "1", BPFSH_HISTORY: "" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let running = true;
      const output = shell.output().finally(() => running = false);
      while (running) await exec(f.plain, "200");
      const out = await output;
      const dec = new TextDecoder();
      assertEquals(out.code, 0, dec.decode(out.stderr));
      const lines = dec.decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
      const ev = lines.find((l) => "ustack" in l);
      assert(ev, dec.decode(out.stdout));
      assertEquals(names(ev.ustack).slice(0, 4), CHAIN_FUNCTIONS);
      assert(names(ev.kstack).includes("do_syscall_64"));
      assert(!("ustack_bytes" in ev), "the length fields are folded into the stacks");
      const dumped = lines.filter((l) => "frames" in l);
      assert(dumped.some((d) => names(d.frames).includes("do_syscall_64")), JSON.stringify(dumped));
      assert(dumped.some((d) => /name its process with --pid/.test(d.frames[0])));
    } finally {
      Deno.removeSync(f.dir, { recursive: true });
    }
  },
});
