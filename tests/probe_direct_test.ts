// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * The direct back end (probe/direct/): BPF instructions generated without a C compiler.
 * Its encodings and refusals as unit tests; on the kernel, every construct it covers run
 * beside the C back end (and bpftrace, where bpftrace runs the program) with the same
 * output expected, its verifier rejections with their log, and nothing left loaded when
 * its process is killed.
 */

import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./assert.ts";
import { bpfTest, kernelProgIds, NOT_ROOT, ROOT } from "./helpers.ts";
import { HAVE_BPFTRACE, parseMaps, printfLines, runOracle } from "./probe_oracle.ts";
import { Asm } from "../probe/direct/insn.ts";
import { DirectUnsupported, generate } from "../probe/direct/gen.ts";
import { DirectLoad } from "../probe/direct/load.ts";
import { startDirect } from "../probe/direct/start.ts";
import { startProbe } from "../probe/template.ts";
import { compileProbeParts } from "../probe/compile.ts";
import { verifierError } from "../probe/verifier_error.ts";
import { ProbeError } from "../probe/diagnostic.ts";
import { BpfError } from "../ffi/errors.ts";
import { bpfMapCreate, bpfProgLoad, bpfProgTestRun } from "../ffi/bpf_syscall.ts";
import { libc } from "../ffi/libc.ts";
import { cpusInRanges, mapInfoByFd, possibleCpus } from "../bpf/map/map.ts";
import { libbpf } from "../ffi/libbpf.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("Asm encodes instructions as the kernel's struct bpf_insn, jumps patched", () => {
  const a = new Asm();
  const end = a.label();
  a.movImm(0, 0); // b7 00 0000 00000000
  a.jumpImm("==", 1, 7, end); // 15 01 0100 07000000
  a.ldImm64(2, 0x1122334455667788n); // 18 02 0000 88776655, 00 00 0000 44332211
  a.load(4, 3, 10, -8); // 61 a3 f8ff 00000000
  a.bind(end);
  a.exit(); // 95 00 0000 00000000
  const bytes = a.finish();
  assertEquals(
    hex(bytes),
    "b700000000000000" + "1501030007000000" + "1802000088776655" + "0000000044332211" +
      "61a3f8ff00000000" + "9500000000000000",
  );
  Asm.patchImm(bytes, 2, 42);
  assertEquals(hex(bytes.subarray(16, 24)), "180200002a000000");
  const never = new Asm();
  never.goto(never.label());
  assertThrows(() => never.finish(), Error, "never placed");
});

Deno.test("generate() refuses what the direct back end does not build, naming it", () => {
  const refused = (text: string, what: RegExp) => {
    const p = compileProbeParts(text);
    const e = assertThrows(() => generate(p.resolved, p.checked, p.spec), DirectUnsupported);
    assertMatch(e.message, what);
  };
  refused("uprobe:/bin/sh:main { @ = count(); }", /uprobe probes/);
  refused("BEGIN { @[kstack] = count(); }", /kstack/);
  // Nine 64-byte strings at once: more frame than the kernel's 512 bytes.
  const vars = Array.from({ length: 9 }, (_, i) => `$s${i} = str(arg0);`).join(" ");
  const uses = Array.from({ length: 9 }, (_, i) => `$s${i}`).join(", ");
  refused(
    `rawtracepoint:sched_switch { ${vars} printf("${"%s".repeat(9)}", ${uses}); }`,
    /frame of more than 512 bytes/,
  );
});

Deno.test("the spec alone (specOnly, what the direct back end compiles) is the spec the C comes with", () => {
  const texts = [
    ...BEGIN_PROGRAMS.map((p) => p.text),
    'tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_openat2 /comm == "x"/ { @[probe, str(args->filename)] = count(); }',
    'interval:ms:10 { printf("%d %s\\n", elapsed, comm); time("%H\\n"); @ = count(); exit(); } END { print(@); }',
    "profile:hz:99 { @[cpu] = lhist(rand % 100, 0, 100, 10); }",
  ];
  for (const text of texts) {
    const full = compileProbeParts(text).spec;
    assert(full.c.length > 0);
    assertEquals(compileProbeParts(text, { specOnly: true }).spec, { ...full, c: "" }, text);
  }
});

Deno.test("verifierError() puts a rejection at the probe it came from, with the log's end", () => {
  const text = "BEGIN { @a = 1; }\ntracepoint:syscalls:sys_enter_read { @b = count(); }";
  const { spec, src } = compileProbeParts(text);
  const log = Array.from({ length: 30 }, (_, i) => `${i}: line`).join("\n") + "\nR0 !read_ok";
  const e = new BpfError({ op: "load", errno: 13, message: "prog 'probe_1': rejected", log });
  const err = verifierError(e, spec, src, "direct") as ProbeError;
  assert(err instanceof ProbeError);
  assertEquals(err.line, 2);
  assertMatch(err.diagnostic, /rejected the program of this probe \(probe_1\)/);
  assertMatch(err.diagnostic, /HINT: .*BPFSH_PROBE_BACKEND=c/);
  assertMatch(err.diagnostic, /the end of the verifier's log:\n(.|\n)*R0 !read_ok$/);
  assert(!/^0: line$/m.test(err.diagnostic), "only the log's last lines");
  assertEquals((err as unknown as { log: string }).log, log);
});

bpfTest(
  "bpf(2) itself: a map as the kernel reports it, a program's test run, bad input refused",
  () => {
    const fd = bpfMapCreate({
      type: 5,
      name: "at_some-name.x",
      keySize: 16,
      valueSize: 8,
      maxEntries: 64,
    });
    try {
      const { info } = mapInfoByFd(fd, "map info");
      assertEquals(
        [info.typeId, info.keySize, info.valueSize, info.maxEntries, info.name],
        [5, 16, 8, 64, "at_some_name.x"],
      );
    } finally {
      libc().close(fd);
    }
    const e = assertThrows(
      () => bpfMapCreate({ type: 9999, name: "bad", keySize: 4, valueSize: 4, maxEntries: 1 }),
      BpfError,
    );
    assertEquals(e.code, "EINVAL");
    // r0 = 7; exit
    const insns = Uint8Array.of(0xb7, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0);
    const prog = bpfProgLoad({ type: 17, name: "seven", insns, license: "GPL" });
    try {
      assertEquals(bpfProgTestRun(prog, new Uint8Array(8), "test run"), 7);
    } finally {
      libc().close(prog);
    }
  },
);

bpfTest("DirectLoad: a program the verifier rejects fails with its log, nothing left", () => {
  const { spec } = compileProbeParts("BEGIN { exit(); }");
  const a = new Asm();
  a.exit(); // r0 never set
  const prog = { name: spec.programs[0].name, type: "raw_tracepoint" as const };
  const e = assertThrows(
    () => DirectLoad.load(spec, [{ ...prog, insns: a.finish(), mapRefs: [] }]),
    BpfError,
  );
  assertMatch(e.message, /prog 'probe_0'/);
  assertMatch(e.log ?? "", /R0 !read_ok/);
});

bpfTest(
  "startDirect(): a program outside the subset falls back (undefined), strict refuses",
  async () => {
    assertEquals(await startDirect("BEGIN { @[kstack] = count(); exit(); }"), undefined);
    await assertRejects(
      () => startDirect("BEGIN { @[kstack] = count(); exit(); }", { strict: true }),
      BpfError,
      "the direct back end does not build the kstack builtin",
    );
    const started = await startDirect('BEGIN { printf("x\\n"); exit(); }', { strict: true });
    assert(started, "a BEGIN printf is in the subset");
    started.load.close();
  },
);

/** Programs whose every line is deterministic: run by both back ends (and bpftrace). */
const BEGIN_PROGRAMS = [
  {
    name: "arithmetic, comparisons, logic, casts, compound assignment, ternaries, printf",
    text: `BEGIN {
      $a = 7; $b = -3;
      printf("%d %d %d %d %d\\n", $a + $b, $a - $b, $a * $b, $a / 2, $a % 4);
      printf("%d %d %d %d %d\\n", $a & 3, $a | 8, $a ^ 5, $a << 3, 1024 >> 3);
      printf("%d %d %d %d\\n", $b < 1, $b > 1, (uint64)$b > 1, $a >= 7);
      printf("%d %d %d %d\\n", $a == 7 && $b == -3, $a == 1 || $b == 1, !$a, !0);
      printf("%d %d\\n", -$a, ~$a);
      printf("%d %d %d %d %d\\n", (uint8)300, (int8)200, (int32)-5, (uint32)-1, (int16)40000);
      $c = 1; $c += 4; $c *= 3; $c -= 1; $c <<= 2; $c >>= 1;
      printf("%d %d %d %d %d\\n", $c, $c++, $c, ++$c, $c--);
      printf("%d %s\\n", $a > 5 ? 100 : 200, $a > 50 ? "big" : "small");
      printf("%x %u %lu %llu %5d|%-5d|%s|%-6s|%6s|\\n", 255, 42, 123456789012,
        18446744073709551615, 42, 42, "s", "ab", "cd");
      exit();
    }`,
  },
  {
    name:
      "maps: values, strings, multiple keys, every aggregation, ++/--, delete, clear, zero, print",
    text: `BEGIN {
      @v[1] = 10; @v[2] = -20; @s["a"] = "x"; @s["bb"] = "yy";
      @m["k", 1] = 5; @m["k", 2] = 6; @m["j", 1] = 7;
      @c = count(); @c = count(); @sum = sum(5); @sum = sum(-8);
      @min = min(4); @min = min(-2); @max = max(3); @max = max(9);
      @avg = avg(4); @avg = avg(7); @st = stats(10); @st = stats(20);
      @h = hist(0); @h = hist(1); @h = hist(-5); @h = hist(1000); @h = hist(1000000);
      @l = lhist(-1, 0, 100, 10); @l = lhist(55, 0, 100, 10); @l = lhist(100, 0, 100, 10);
      @l = lhist(1000, 0, 100, 10);
      @inc[3]++; @inc[3]++; ++@inc[4]; @inc[4]--;
      @r = @v[1] + @v[2] + @v[3];
      @cmp = @s["a"] == "x";
      delete(@v[2]);
      @gone[1] = 1; @gone[2] = 2; clear(@gone);
      @z[1] = count(); zero(@z);
      @p[1] = 1; print(@p); print(42); print("str");
      exit();
    }`,
  },
];

Deno.test({
  name: "direct back end: BEGIN programs print what the C back end and bpftrace print",
  ignore: NOT_ROOT,
  async fn() {
    const runs = await runOracle(
      BEGIN_PROGRAMS.map((p) => ({ ...p, selfExit: true })),
      () => Promise.resolve(),
      240_000, // the C back end compiles under qemu's emulation in the guest lane
      HAVE_BPFTRACE,
      ["direct", "c"],
    );
    for (const r of runs) {
      const [direct, c] = r.backends;
      assert(direct.text.includes("Attaching"), `${r.program.name}: direct:\n${r.errors}`);
      assertEquals(direct.text, c.text, `${r.program.name}: direct against C`);
      if (HAVE_BPFTRACE) {
        assertEquals(printfLines(direct.text), printfLines(r.bpftrace), r.program.name);
        assertEquals(parseMaps(direct.text), parseMaps(r.bpftrace), r.program.name);
      }
    }
  },
});

Deno.test({
  name:
    "direct back end: this process's opens through tracepoint fields, exit values, wildcards and a latency pair agree with the C back end",
  ignore: NOT_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_direct_" });
    try {
      for (const f of ["a.txt", "b.txt"]) await Deno.writeTextFile(`${dir}/${f}`, "x");
      const programs = [{
        name: "opens of this process",
        args: [String(Deno.pid)],
        text: `
          tracepoint:syscalls:sys_enter_openat /pid == $1/ {
            @files[str(args->filename)] = count(); @start[tid] = nsecs;
            printf("open %s\\n", str(args->filename));
          }
          tracepoint:syscalls:sys_exit_openat /pid == $1 && @start[tid]/ {
            @ret[args->ret >= 0] = count(); delete(@start[tid]);
          }
          tracepoint:syscalls:sys_enter_open* /pid == $1/ { @probes[probe] = count(); }`,
      }];
      const runs = await runOracle(
        programs,
        () => {
          for (const f of ["a.txt", "b.txt", "a.txt", "missing"]) {
            try {
              Deno.openSync(`${dir}/${f}`).close();
            } catch {
              // the missing file: a failed open
            }
          }
          return Promise.resolve();
        },
        240_000,
        false,
        ["direct", "c"],
      );
      const [direct, c] = runs[0].backends;
      assert(direct.text.includes("Attaching"), `direct:\n${runs[0].errors}`);
      assertEquals(parseMaps(direct.text), parseMaps(c.text), "maps, direct against C");
      assertEquals(printfLines(direct.text), printfLines(c.text));
      const maps = parseMaps(direct.text);
      assertEquals(maps.get("@files")?.get(`${dir}/a.txt`), "2");
      assertEquals(maps.get("@ret")?.get("0"), "1", "one failed open");
      assertEquals(maps.get("@probes")?.get("tracepoint:syscalls:sys_enter_openat"), "4");
      assertEquals(maps.get("@start")?.size ?? 0, 0, "every start deleted");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "direct back end: a killed bpfsh -e leaves no program loaded",
  ignore: NOT_ROOT,
  async fn() {
    const before = kernelProgIds();
    const child = new Deno.Command(`${ROOT}/bpfsh`, {
      args: ["-e", "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }"],
      env: { BPFSH_PROBE_BACKEND: "direct", __BPFTRACE_NOTIFY_PROBES_ATTACHED: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    while (!err.includes("__BPFTRACE_NOTIFY_PROBES_ATTACHED")) {
      const { value, done } = await reader.read();
      if (done) break;
      err += value;
    }
    assert(err.includes("__BPFTRACE_NOTIFY_PROBES_ATTACHED"), err);
    const ours = [...kernelProgIds()].filter((id) => !before.has(id));
    assert(ours.length > 0, "the program is loaded while it runs");
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    for (let i = 0;; i++) {
      const live = kernelProgIds();
      if (!ours.some((id) => live.has(id))) break;
      if (i === 40) throw new Error(`programs left: ${ours.filter((id) => live.has(id))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  },
});

Deno.test({
  name:
    "with no C compiler: a tracepoint one-liner runs (direct), one that needs C says clang is missing",
  ignore: NOT_ROOT,
  async fn() {
    const run = (text: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", `${ROOT}/shell/main.ts`, "-e", text],
        env: { PATH: "/nonexistent", BPFSH_CLANG: "" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await run(
      "tracepoint:syscalls:sys_enter_openat { @opens = count(); } " +
        "interval:ms:50 { exit(); }",
    );
    const out = new TextDecoder().decode(ok.stdout);
    assert(ok.success, new TextDecoder().decode(ok.stderr));
    assertMatch(out, /^@opens: \d+$/m);
    const needsC = await run("BEGIN { @[kstack] = count(); exit(); }");
    assertEquals(needsC.code, 1);
    assertMatch(
      new TextDecoder().decode(needsC.stderr),
      /needs the C compiler .*clang is not installed\nHINT: install clang/,
    );
  },
});

Deno.test("possibleCpus() counts the kernel's possible CPUs as libbpf does", () => {
  assertEquals(cpusInRanges("0-3\n"), 4);
  assertEquals(cpusInRanges("0,2-3"), 3);
  assertEquals(cpusInRanges("garbage"), 0);
  assertEquals(possibleCpus(), libbpf().libbpf_num_possible_cpus());
});

// The direct back end's maps are typed like the C back end's (BTF built in this process
// from the spec, the C's own declarations): the same BpfMap entries, key for key.
bpfTest(
  "the direct back end's BpfMaps decode keys and values as the C back end's do, for every map kind",
  async () => {
    const program = `BEGIN {
      @n = count(); @c[comm] = count(); @s[1, "two"] = sum(-5); @lo = min(-7); @hi[3] = max(9);
      @a = avg(10); @st = stats(4); @h = hist(1000); @l = lhist(7, 0, 10, 2);
      @v = -3; @u[pid] = (uint32)4; @str["k"] = comm; exit();
    }`;
    const entries = async (backend: "direct" | "c") => {
      await using p = await startProbe(program, { backend });
      await p.exited;
      await p.stop();
      const out: Record<string, unknown> = {};
      for (const [name, map] of Object.entries(p.maps)) {
        // Per-CPU values summed, so that the CPU BEGIN ran on does not matter.
        out[name] = [...map.entries()].map(([k, v]) => [k, Array.isArray(v) ? sumCpus(v) : v]);
      }
      return out;
    };
    const direct = await entries("direct");
    assertEquals(direct, await entries("c"));
    assertEquals((direct["@c"] as [string, bigint][]).map(([k, v]) => [typeof k, v]), [[
      "string",
      1n,
    ]]);
    assertEquals(direct["@s"], [[{ key0: 1n, key1: "two" }, -5n]]);
    assertEquals(direct["@lo"], [[0n, { value: -7n, set: 1n }]]);
  },
);

/** Per-CPU values summed (numbers and bigints field by field). */
function sumCpus(values: unknown[]): unknown {
  const add = (a: unknown, b: unknown): unknown =>
    typeof a === "bigint" ? a + (b as bigint) : typeof a === "string" ? a || b : Object
      .fromEntries(
        Object.entries(a as Record<string, unknown>).map((
          [k, v],
        ) => [k, add(v, (b as Record<string, unknown>)[k])]),
      );
  return values.reduce(add);
}
