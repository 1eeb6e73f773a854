// The tracing scripts of scripts/: their plumbing as pure units, their command lines, and
// each script run for real as a subprocess while the test makes the events it must show.
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import { parseToolArgs, UsageError } from "../scripts/lib/cli.ts";
import { formatEvent, RecordPrinter } from "../scripts/lib/output.ts";
import { take } from "../scripts/lib/events.ts";
import { parseUnistd, syscallName, syscallNumber } from "../bpf/system/syscalls.ts";
import { buckets } from "../scripts/lib/hist.ts";
import { eventMatcher, filtersOf } from "../scripts/lib/filters.ts";

const SCRIPTS = [
  "execsnoop",
  "opensnoop",
  "syscount",
  "hello_tail",
  "runqlat",
  "bashreadline",
  "ringbuf_tail",
  "perfbuf_tail",
  "trace_pipe",
  "demo",
];

// ---- Pure units -------------------------------------------------------------------------

Deno.test("parseToolArgs() reads common filters, duration and json, and rejects strays", () => {
  const spec = { name: "t", summary: "s", filters: ["pid", "comm"] as ("pid" | "comm")[] };
  const args = parseToolArgs(spec, ["-p", "42", "--comm", "bash", "--duration", "1.5", "-j"])!;
  assertEquals(args.int("pid", 1), 42);
  assertEquals(filtersOf(args), { pid: 42, uid: undefined, comm: "bash" });
  assertEquals(args.seconds("duration"), 1.5);
  assert(args.flag("json"));
  assertThrows(() => parseToolArgs(spec, ["--uid", "0"]), UsageError, "--uid");
  assertThrows(() => parseToolArgs(spec, ["extra"]), UsageError, "unexpected argument 'extra'");
  const bad = parseToolArgs(spec, ["--pid", "x1"])!;
  assertThrows(() => bad.int("pid", 1), UsageError, "invalid --pid 'x1'");
  const long = parseToolArgs(spec, ["--comm", "a-name-longer-than-15"])!;
  assertThrows(() => filtersOf(long), UsageError, "TASK_COMM_LEN");
});

Deno.test("RecordPrinter aligns columns like bcc and prints JSON lines with bigints", () => {
  const lines: string[] = [];
  const cols = [
    { key: "comm", title: "PCOMM", width: 6 },
    { key: "ret", width: 3, align: "right" as const },
    { key: "args" },
  ];
  const table = new RecordPrinter(cols, { sink: (l) => lines.push(l) });
  table.header();
  table.row({ comm: "true", ret: 0, args: "/bin/true" });
  assertEquals(lines, ["PCOMM  RET ARGS", "true     0 /bin/true"]);
  const json = new RecordPrinter(cols, { json: true, sink: (l) => lines.push(l) });
  json.header();
  json.row({ comm: "x", count: 5n, big: 2n ** 64n });
  assertEquals(lines[2], '{"comm":"x","count":5,"big":"18446744073709551616"}');
});

Deno.test("parseToolArgs() takes one word where the spec names an argument", () => {
  const spec = { name: "t", summary: "s", argument: { name: "OBJECT", help: "a file" } };
  assertEquals(parseToolArgs(spec, ["x.bpf.c", "--json"])!.positionals, ["x.bpf.c"]);
  assertEquals(parseToolArgs(spec, [])!.positionals, []);
  assertThrows(() => parseToolArgs(spec, ["a", "b"]), UsageError, "unexpected argument 'b'");
});

Deno.test("RecordPrinter puts a column's gap before it", () => {
  const lines: string[] = [];
  const out = new RecordPrinter([
    { key: "uid", width: 5, align: "right" },
    { key: "comm", width: 6, gap: 2 },
    { key: "file" },
  ], { sink: (l) => lines.push(l) });
  out.header();
  out.row({ uid: 0, comm: "true", file: "/bin/true" });
  assertEquals(lines, ["  UID  COMM   FILE", "    0  true   /bin/true"]);
});

Deno.test("formatEvent() writes key=value pairs, bytes in hex, or JSON with bigints and bytes", () => {
  assertEquals(
    formatEvent({ pid: 42, comm: "bash", inner: { a: 1 } }),
    "pid=42 comm=bash inner=a=1",
  );
  assertEquals(formatEvent(new Uint8Array([1, 171])), "01ab");
  assertEquals(formatEvent(7n), "7");
  assertEquals(
    formatEvent({ ts: 5n, big: 2n ** 64n, raw: new Uint8Array([1, 2]) }, true),
    '{"ts":5,"big":"18446744073709551616","raw":[1,2]}',
  );
});

Deno.test("take() stops after N events and closes the stream", async () => {
  let closed = false;
  async function* numbers(end: number) {
    try {
      for (let i = 0; i < end; i++) yield i;
    } finally {
      closed = true;
    }
  }
  const got: number[] = [];
  for await (const n of take(numbers(Infinity), 3)) got.push(n);
  assertEquals(got, [0, 1, 2]);
  assert(closed, "the stream was left open");
  got.length = 0;
  for await (const n of take(numbers(2))) got.push(n);
  assertEquals(got, [0, 1]);
});

Deno.test("syscall names come from the unistd header", () => {
  assertEquals(
    [...parseUnistd("#define __NR_read 0\n#define __NR_openat 257\n")],
    [["read", 0], ["openat", 257]],
  );
  if (Deno.build.arch === "x86_64") {
    assertEquals(syscallName(59), "execve");
    assertEquals(syscallNumber("openat"), 257);
  }
  assertEquals(syscallName(100000), "syscall_100000");
});

Deno.test("buckets() lists log2 slots from the first to the last non-empty one", () => {
  assertEquals(buckets([0, 2, 0, 5]), [
    { low: 0, high: 1, count: 2 },
    { low: 2, high: 3, count: 0 },
    { low: 4, high: 7, count: 5 },
  ]);
  assertEquals(buckets([0, 0, 0]), []);
});

Deno.test("eventMatcher() filters decoded events by pid/tgid, uid and comm/command fields", () => {
  const pass = eventMatcher({ pid: 42, comm: "bash" });
  assert(pass({ pid: 42, comm: "bash", uid: 0 }));
  assert(!pass({ pid: 42, comm: "sh", uid: 0 }));
  assert(eventMatcher({ pid: 7, uid: 0 })({ tgid: 7, uid: 0, command: "x" }));
  assert(eventMatcher({})({}), "no filter: everything passes");
  assertThrows(() => eventMatcher({ uid: 0 })({ pid: 1 }), UsageError, "no uid field");
});

// ---- Command lines (no BPF: --help and errors stop before anything loads) ---------------

Deno.test("every script prints its help, and a bad option exits 2 with a pointer to --help", async () => {
  const runs = SCRIPTS.flatMap((name) =>
    [
      ["--help"],
      ["--no-such-option"],
    ].map(async (args) => ({ name, args, ...(await deno(name, args)) }))
  );
  for (const r of await Promise.all(runs)) {
    if (r.args[0] === "--help") {
      assertEquals(r.code, 0, `${r.name} --help: ${r.stderr}`);
      assertMatch(r.stdout, `usage: ${r.name} [options]`);
      assertMatch(r.stdout, "--duration SECONDS");
      // Every script filters by pid, uid and command name, where its events carry them.
      for (const f of ["pid", "uid", "comm"]) {
        const without = { bashreadline: "comm", trace_pipe: "uid" }[r.name as string];
        if (f !== without) assertMatch(r.stdout, `--${f} `);
      }
      assertMatch(r.stdout, "--json");
    } else {
      assertEquals(r.code, 2, `${r.name} ${r.args}`);
      assertMatch(r.stderr, `${r.name}: error:`);
      assertMatch(r.stderr, `Try '${r.name} --help'.`);
    }
  }
});

/** Run a script to its end. */
async function deno(name: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", `${ROOT}/scripts/${name}.ts`, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// ---- Live runs (root: they load and attach BPF programs) --------------------------------

/**
 * Start a script, wait for its "Tracing ..." line (or the status line `started` matches),
 * run `trigger`, and collect everything it prints until `--duration` or `--count` ends it.
 */
async function trace(
  name: string,
  args: string[],
  trigger: () => Promise<void> | void,
  started = /^(Tracing|Tailing|Reading) /m,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", `${ROOT}/scripts/${name}.ts`, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  let stderr = "";
  let ready!: () => void;
  const begun = new Promise<void>((r) => ready = r);
  const errDone = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      if (started.test(stderr)) ready();
    }
    ready(); // ended without tracing: the assertions below say why
  })();
  const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    await begun;
    if (started.test(stderr)) await trigger();
    const status = await child.status;
    await errDone;
    return { code: status.code, stdout: await stdout, stderr };
  } finally {
    clearTimeout(guard);
  }
}

/** A copy of a system binary under a unique name, so its comm is ours alone. */
async function uniqueBinary(from: string, prefix: string): Promise<{ path: string; comm: string }> {
  const dir = await Deno.makeTempDir({ prefix: "bpfsh_scripts_" });
  const comm = `${prefix}${crypto.randomUUID().slice(0, 6)}`;
  const path = `${dir}/${comm}`;
  await Deno.copyFile(from, path);
  await Deno.chmod(path, 0o755);
  return { path, comm };
}

async function exec(path: string, ...args: string[]): Promise<void> {
  await new Deno.Command(path, { args, stdout: "null", stderr: "null" }).output();
}

function ok(r: { code: number; stderr: string }, name: string): void {
  assertEquals(r.code, 0, `${name} failed: ${r.stderr}`);
}

Deno.test({
  name: "execsnoop shows an exec with its arguments, filtered by --comm",
  ignore: NOT_ROOT,
  async fn() {
    const bin = await uniqueBinary("/bin/echo", "bx_");
    const marker = `marker-${crypto.randomUUID().slice(0, 8)}`;
    const r = await trace("execsnoop", ["--duration", "1.5", "--comm", bin.comm], async () => {
      await exec(bin.path, "hello", marker);
    });
    ok(r, "execsnoop");
    const lines = r.stdout.trim().split("\n");
    assertMatch(lines[0], /^PCOMM\s+PID\s+PPID\s+RET ARGS$/);
    const row = lines.find((l) => l.includes(marker));
    assert(row, `no exec of ${bin.comm} in:\n${r.stdout}`);
    assertMatch(
      row,
      new RegExp(`^${bin.comm}\\s+\\d+\\s+${Deno.pid}\\s+0 ${bin.path} hello ${marker}$`),
    );
    assert(lines.slice(1).every((l) => l.startsWith(bin.comm)), "--comm let others through");
    await Deno.remove(bin.path.replace(/\/[^/]+$/, ""), { recursive: true });
  },
});

Deno.test({
  name: "opensnoop shows this process's opens with fd and errno, as JSON lines",
  ignore: NOT_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_scripts_" });
    const path = `${dir}/opened-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(path, "x");
    const r = await trace("opensnoop", ["-d", "1.5", "--pid", String(Deno.pid), "--json"], () => {
      Deno.openSync(path).close();
      try {
        Deno.openSync(`${path}.missing`);
      } catch { /* ENOENT is the point */ }
    });
    ok(r, "opensnoop");
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const hit = events.find((e) => e.path === path);
    assert(hit, `no open of ${path} in:\n${r.stdout}`);
    assertEquals(hit.pid, Deno.pid);
    assert(hit.fd >= 3 && hit.err === 0, JSON.stringify(hit));
    const miss = events.find((e) => e.path === `${path}.missing`);
    assert(miss && miss.fd === -1 && miss.err === 2, JSON.stringify(miss));
    assert(events.every((e) => e.pid === Deno.pid), "--pid let others through");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "syscount counts this process's syscalls by name, top N first",
  ignore: NOT_ROOT,
  async fn() {
    const r = await trace("syscount", ["-d", "1.5", "--pid", String(Deno.pid), "-T", "3"], () => {
      for (let i = 0; i < 300; i++) Deno.openSync("/dev/null").close();
    });
    ok(r, "syscount");
    const lines = r.stdout.trim().split("\n");
    assertMatch(lines[0], /^\[\d\d:\d\d:\d\d\]$/);
    assertMatch(lines[1], /^SYSCALL\s+COUNT$/);
    const rows = lines.slice(2).map((l) => l.split(/\s+/));
    assert(rows.length >= 1 && rows.length <= 3, r.stdout);
    const counts = rows.map(([, n]) => Number(n));
    assertEquals(counts, [...counts].sort((a, b) => b - a), "sorted by count");
    const openat = rows.find(([name]) => name === "openat" || name === "close");
    assert(openat && Number(openat[1]) >= 300, `openat/close >= 300 expected in:\n${r.stdout}`);
  },
});

Deno.test({
  name: "hello_tail dispatches execve to its handler and counts the others",
  ignore: NOT_ROOT,
  async fn() {
    const bin = await uniqueBinary("/bin/true", "ht_");
    const r = await trace("hello_tail", ["-d", "1.5"], async () => {
      await exec(bin.path);
      for (let i = 0; i < 20; i++) Deno.openSync("/dev/null").close();
    });
    ok(r, "hello_tail");
    assertMatch(r.stdout, /^PID\s+COMM\s+HANDLER\s+PATH$/m);
    assertMatch(r.stdout, new RegExp(`hello_execve\\s+${bin.path}$`, "m"));
    const count = (name: string) =>
      Number(new RegExp(`^${name}\\s+\\d+\\s+hello_${name}\\s+(\\d+)$`, "m").exec(r.stdout)?.[1]);
    assert(count("execve") >= 1, r.stdout);
    assert(count("openat") >= 20 && count("close") >= 20, r.stdout);
    assertMatch(r.stdout, /^\(others\)\s+-\s+\(fell through\)\s+[1-9]\d*$/m);
    await Deno.remove(bin.path.replace(/\/[^/]+$/, ""), { recursive: true });
  },
});

Deno.test({
  name: "runqlat prints a log2 histogram of run-queue latency",
  ignore: NOT_ROOT,
  async fn() {
    const r = await trace("runqlat", ["-d", "1.5"], async () => {
      // Wake-ups of our own: sleeps and short-lived processes.
      for (let i = 0; i < 5; i++) await exec("/bin/true");
    });
    ok(r, "runqlat");
    assertMatch(r.stdout, /^ {5}usecs {15}: count {5}distribution$/m);
    const rows = [...r.stdout.matchAll(/^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|(\**)\s*\|$/gm)];
    assert(rows.length > 0, r.stdout);
    assert(rows.some((m) => Number(m[3]) > 0 && m[4].length > 0), "a bucket with stars");
  },
});

Deno.test({
  name: "bashreadline shows the line typed into an interactive bash",
  ignore: NOT_ROOT || !hasTool("script"),
  async fn() {
    const marker = `echo typed-${crypto.randomUUID().slice(0, 8)}`;
    const r = await trace("bashreadline", ["-d", "2"], async () => {
      // A pty (script) makes bash interactive, so it reads its input with readline().
      const child = new Deno.Command("script", {
        args: ["-qc", "bash --norc --noprofile -i", "/dev/null"],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
        env: { TERM: "dumb" },
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(`${marker}\nexit\n`));
      await w.close();
      await child.status;
    });
    ok(r, "bashreadline");
    assertMatch(r.stdout, /^TIME\s+PID\s+COMMAND$/m);
    assertMatch(r.stdout, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\s+\\d+\\s+${marker}$`, "m"));
  },
});

Deno.test({
  name: "ringbuf_tail prints an exec and its exit as key=value pairs, then its counts",
  ignore: NOT_ROOT,
  async fn() {
    const bin = await uniqueBinary("/bin/true", "rb_");
    const r = await trace("ringbuf_tail", ["-d", "1.5"], () => exec(bin.path));
    ok(r, "ringbuf_tail");
    assertMatch(r.stderr, "Tailing ring buffer 'events' as struct lifecycle_event...");
    const ours = r.stdout.split("\n").filter((l) => l.endsWith(` comm=${bin.comm}`));
    const event = /^ts=\d+ pid=\d+ ppid=\d+ uid=0 exit_code=0 exited=[01] comm=/;
    assert(ours.length === 2 && ours.every((l) => event.test(l)), `got:\n${r.stdout}`);
    assertMatch(ours[0], " exited=0 ");
    assertMatch(r.stderr, /^\d+ events, \d+ bytes$/m);
    await Deno.remove(bin.path.replace(/\/[^/]+$/, ""), { recursive: true });
  },
});

Deno.test({
  name: "perfbuf_tail prints --count events as JSON with their CPU, then stops",
  ignore: NOT_ROOT,
  async fn() {
    const r = await trace("perfbuf_tail", ["-d", "20", "--count", "2", "--json"], async () => {
      for (let i = 0; i < 3; i++) await exec("/bin/true");
    });
    ok(r, "perfbuf_tail");
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(events.length, 2, r.stdout);
    for (const { cpu, data } of events) {
      assert(Number.isInteger(cpu) && data.message === "Hello World", JSON.stringify(data));
    }
    assertMatch(r.stderr, /^\d+ events, \d+ bytes, 0 lost$/m);
  },
});

Deno.test({
  name: "trace_pipe --demo prints the demo's bpf_printk lines that match REGEX",
  ignore: NOT_ROOT,
  async fn() {
    const r = await trace(
      "trace_pipe",
      ["--demo", "-d", "1.5", "--json", "execve by"],
      async () => {
        for (let i = 0; i < 5; i++) await exec("/bin/true");
      },
    );
    ok(r, "trace_pipe");
    const lines = r.stdout.trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
    assert(lines.length > 0, `no lines; stderr:\n${r.stderr}`);
    for (const l of lines) {
      assertEquals(l.event, "bpf_trace_printk");
      assertMatch(l.message, /^execve by .+ \(uid \d+\)$/);
    }
  },
});

Deno.test({
  name: "demo shows an exec in its table, then execs by uid",
  ignore: NOT_ROOT,
  async fn() {
    const bin = await uniqueBinary("/bin/true", "dm_");
    const r = await trace("demo", ["-d", "1.5"], () => exec(bin.path));
    ok(r, "demo");
    const lines = r.stdout.split("\n");
    assertEquals(lines[0], "    PID    PPID   UID  COMM             FILE");
    const row = new RegExp(`^ +\\d+ +${Deno.pid} +0  ${bin.comm.padEnd(16)} ${bin.path}$`);
    assert(lines.some((l) => row.test(l)), `no exec of ${bin.comm} in:\n${r.stdout}`);
    assertMatch(r.stdout, /\n\nexecs by uid:\n( {2}uid +\d+ {2}[1-9]\d*\n)+$/);
    await Deno.remove(bin.path.replace(/\/[^/]+$/, ""), { recursive: true });
  },
});

function hasTool(name: string): boolean {
  try {
    return new Deno.Command("which", { args: [name], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
