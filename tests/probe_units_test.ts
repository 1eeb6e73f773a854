/**
 * The probe compiler's passes and formatters, without a kernel: parsing, diagnostics,
 * attach points, tracefs formats, type checks, printf, and bpftrace's text and JSON output
 * (the expected texts are bpftrace 0.17's own output for the same values).
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { parseProgram } from "../probe/parse.ts";
import { ProbeError } from "../probe/diagnostic.ts";
import { parseAttachPoint, probeName } from "../probe/attach.ts";
import { parseFormat as parseTpFormat } from "../probe/tracefs.ts";
import { formatPrintf, parseFormat } from "../probe/format/printf.ts";
import { formatMap, histLabel, lhistLabel } from "../probe/format/text.ts";
import { formatMapJson, jsonString } from "../probe/format/json.ts";
import { strftime } from "../probe/format/strftime.ts";
import { type MapSnapshot, sortEntries } from "../probe/read.ts";
import type { MapSpec } from "../probe/spec.ts";
import type { MapValue } from "../probe/aggregations.ts";
import { check } from "../probe/check.ts";
import { compileProbe } from "../probe/compile.ts";
import { parseStackKind, type StackKind, stackKindName } from "../probe/stack_kinds.ts";
import { ProbeStacks } from "../probe/stack_text.ts";
import type { BpfObject } from "../bpf/object/object.ts";
import type { ResolvedProgram, Unit } from "../probe/resolve.ts";
import type { TracepointField } from "../probe/tracefs.ts";

const src = (text: string) => ({ name: "stdin", text });

function diag(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProbeError) return e.diagnostic;
    throw e;
  }
  throw new Error("no error");
}

Deno.test("parser: precedence, statements, predicates and attach points", () => {
  const p = parseProgram(src(
    `// comment\ntracepoint:syscalls:sys_enter_open*, t:sched:sched_switch /pid > 1 && comm == "x"/ {
       @[comm, pid] = count(); $x = 1 + 2 * 3; if ($x > 6) { @y = $x; } else if ($x) { @z++; } else { exit(); }
     }
     uprobe:/bin/bash:readline { printf("%d\\n", -5); } BEGIN{@a=1;}`,
  ));
  assertEquals(p.probes.length, 3);
  assertEquals(p.probes[0].attach.map((a) => a.text), [
    "tracepoint:syscalls:sys_enter_open*",
    "t:sched:sched_switch",
  ]);
  assertEquals(p.probes[1].attach[0].text, "uprobe:/bin/bash:readline");
  assertEquals(p.probes[2].attach[0].text, "BEGIN");
  const assign = p.probes[0].body[1];
  assert(assign.kind === "assign" && assign.value.kind === "binop");
  assertEquals(assign.value.op, "+");
  assert(assign.value.right.kind === "binop" && assign.value.right.op === "*");
  assert(p.probes[0].predicate?.kind === "binop" && p.probes[0].predicate.op === "&&");
  const ifs = p.probes[0].body[2];
  assert(ifs.kind === "if" && ifs.otherwise[0].kind === "if");
});

Deno.test("diagnostics: line:column, the source line and a caret under the construct", () => {
  assertEquals(
    diag(() => parseProgram(src("BEGIN {\n  @x = 1 +;\n}"))),
    "stdin:2:11: ERROR: syntax error, unexpected ';', expecting an expression\n  @x = 1 +;\n          ^",
  );
  assertEquals(
    diag(() => parseProgram(src('BEGIN { printf("unterminated); }'))),
    'stdin:1:16-33: ERROR: unterminated string\nBEGIN { printf("unterminated); }\n               ^~~~~~~~~~~~~~~~~',
  );
  assertMatch(diag(() => parseProgram(src("BEGIN { while (1) { } }"))), "'while' is not supported");
  assertMatch(diag(() => parseProgram(src("BEGIN { $t = (1, 2); }"))), "tuples are not supported");
  assertMatch(
    diag(() => parseProgram(src("BEGIN { @x = (struct task_struct *)curtask; }"))),
    "struct",
  );
  assertMatch(diag(() => parseProgram(src("BEGIN { @x = *arg0; }"))), "dereference");
  assertMatch(diag(() => parseProgram(src("BEGIN"))), "unexpected end of file, expected {");
  assertMatch(diag(() => parseProgram(src("#define X 1\nBEGIN {}"))), "preprocessor");
});

Deno.test("attach points: providers, aliases and bpftrace's probe names", () => {
  const ap = (t: string) => parseAttachPoint(src(t), t, { start: 0, end: t.length });
  assertEquals(ap("t:syscalls:sys_enter_openat"), {
    provider: "tracepoint",
    category: "syscalls",
    event: "sys_enter_openat",
  });
  assertEquals(probeName(ap("i:ms:100")), "interval:ms:100");
  assertEquals(probeName(ap("profile:hz:99")), "profile:hz:99");
  assertEquals(ap("ur:/bin/bash:readline"), {
    provider: "uretprobe",
    binary: "/bin/bash",
    func: "readline",
    offset: 0,
  });
  assertMatch(diag(() => ap("usdt:/bin/x:probe")), "'usdt' probes are not supported");
  assertMatch(diag(() => ap("nope:x")), "unknown probe type 'nope'");
  assertMatch(diag(() => ap("interval:min:1")), "UNIT one of");
});

Deno.test("tracefs formats: field types as bpftrace gives them", () => {
  const f = parseTpFormat(
    "syscalls",
    "sys_enter_x",
    `name: x
ID: 7
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:32;\tsize:8;\tsigned:0;
\tfield:const int cint;\toffset:40;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:48;\tsize:16;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:64;\tsize:4;\tsigned:0;
\tfield:unsigned long args[6];\toffset:72;\tsize:48;\tsigned:0;
`,
  );
  const by = (n: string) => f.fields.find((x) => x.name === n)!;
  assertEquals(f.id, 7);
  assertEquals(by("dfd").ty, { k: "int", bits: 64, signed: true });
  assertEquals(by("filename").ty, { k: "ptr", to: "char", user: true });
  assertEquals([by("mode").ty, by("mode").readSize], [{ k: "int", bits: 16, signed: false }, 2]);
  assertEquals(by("cint").ty, { k: "int", bits: 32, signed: true });
  assertEquals(by("comm").ty, { k: "str", size: 16 });
  assert(by("name").dataLoc);
  assertEquals(by("args").array?.count, 6);
  assertEquals(by("comm").decl, "char comm[16]");
});

Deno.test("printf: bpftrace's specifiers print as bpftrace prints them", () => {
  const fmt = parseFormat(
    "%d|%u|%x|%lx|%ld|%lu|%hhd|%hd|%c|%5d|%-5d|%05d|%s|%-8s|%8s|%.2s|%o|%X|%p|%p|%%|%lld\n",
  );
  const m1 = -1n;
  const out = formatPrintf(fmt, [
    m1,
    m1,
    m1,
    m1,
    m1,
    m1,
    300n,
    70000n,
    65n,
    42n,
    42n,
    42n,
    "str",
    "ab",
    "ab",
    "abcdef",
    8n,
    255n,
    0n,
    4096n,
    5n,
  ]);
  // bpftrace 0.17, same arguments:
  assertEquals(
    out,
    "-1|4294967295|ffffffff|ffffffffffffffff|-1|18446744073709551615|44|4464|A|   42|42   |00042|str|ab      |      ab|ab|10|FF|(nil)|0x1000|%|5\n",
  );
  assertThrows(() => parseFormat("%y"), Error, "Unknown format string token: %y");
});

function snapshot(spec: Partial<MapSpec>, entries: [string[], MapValue][]): MapSnapshot {
  const s = {
    name: "@x",
    bpfName: "at_x",
    kind: "count",
    mapType: "percpu_hash",
    keys: [],
    keySize: 8,
    value: { k: "int", bits: 64, signed: true },
    valueType: "int64",
    valueSize: 8,
    signed: true,
    perCpu: true,
    maxEntries: 4096,
    ...spec,
  } as MapSpec;
  const snap = {
    spec: s,
    entries: entries.map(([k, v]) => ({
      keys: k.map((x) => (/^-?\d+$/.test(x) ? BigInt(x) : x)),
      keyText: k,
      value: v,
    })),
  };
  sortEntries(s, snap.entries);
  return snap;
}

Deno.test("text output: hist and lhist bars, labels and blank lines as bpftrace prints them", () => {
  const buckets = new Array(65).fill(0n);
  // hist(-1), hist(0), hist(1), hist(2), hist(3), hist(1024), hist(1000000), hist(2000000000)
  buckets[0] = 1n;
  buckets[1] = 1n;
  buckets[2] = 1n;
  buckets[3] = 2n;
  buckets[12] = 1n;
  buckets[21] = 1n;
  buckets[32] = 1n;
  const text = formatMap(snapshot({ name: "@h", kind: "hist" }, [[[], { kind: "hist", buckets }]]));
  const lines = text.split("\n");
  assertEquals(lines[0], "@h: ");
  assertEquals(
    lines[1],
    "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |",
  );
  assertEquals(
    lines[4],
    "[2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
  );
  assertEquals(
    lines[13],
    "[1K, 2K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |",
  );
  assertEquals(
    lines[33],
    "[1G, 2G)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |",
  );
  assert(text.endsWith("|\n\n"));
  // lhist(-5, 0, 100, 10), lhist(5, ...), lhist(500, ...)
  const l = new Array(12).fill(0n);
  l[0] = 1n;
  l[1] = 1n;
  l[11] = 1n;
  const ltext = formatMap(
    snapshot({ name: "@l", kind: "lhist", lhist: { min: 0, max: 100, step: 10 } }, [[[], {
      kind: "lhist",
      buckets: l,
    }]]),
  );
  assertEquals(
    ltext.split("\n")[1],
    "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
  );
  assertEquals(
    ltext.split("\n")[2],
    "[0, 10)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
  );
  assertEquals(
    ltext.split("\n")[12],
    "[100, ...)             1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
  );
  assertEquals([histLabel(20), histLabel(5), lhistLabel(2048), lhistLabel(3072), lhistLabel(100)], [
    "1M",
    "32",
    "2K",
    "3K",
    "100",
  ]);
  assertEquals(
    formatMap(
      snapshot({ name: "@st", kind: "stats" }, [[[], {
        kind: "stats",
        count: 2n,
        total: 3n,
        average: 1n,
      }]]),
    ),
    "@st: count 2, average 1, total 3\n\n",
  );
  assertEquals(
    formatMap(
      snapshot({ name: "@a", kind: "avg" }, [[[], {
        kind: "avg",
        count: 2n,
        total: -7n,
        value: -3n,
      }]]),
    ),
    "@a: -3\n\n",
  );
  assertEquals(formatMap(snapshot({ name: "@e" }, [])), "\n");
});

Deno.test("text output: sorted by value (ties by key), multi-key brackets, strings by key", () => {
  const counts = snapshot({ name: "@mk", keys: [] }, [
    [["b", "2"], { kind: "count", value: 1n }],
    [["a", "2"], { kind: "count", value: 3n }],
    [["a", "1"], { kind: "count", value: 1n }],
  ]);
  assertEquals(formatMap(counts), "@mk[a, 1]: 1\n@mk[b, 2]: 1\n@mk[a, 2]: 3\n");
  const strs = snapshot({ name: "@s", kind: "value", value: { k: "str", size: 8 } }, [
    [["zz"], { kind: "value", value: "1" }],
    [["aa"], { kind: "value", value: "2" }],
  ]);
  assertEquals(formatMap(strs), "@s[aa]: 2\n@s[zz]: 1\n");
  assertEquals(formatMap(counts, { top: 1 }), "@mk[a, 2]: 3\n");
});

Deno.test("JSON output: bpftrace's -f json objects", () => {
  const counts = snapshot({ name: "@mk" }, [[["a", "1"], { kind: "count", value: 1n }]]);
  counts.spec.keys = [
    { name: "k", expr: "k", type: "string[8]", ty: { k: "str", size: 8 }, offset: 0, size: 8 },
    {
      name: "n",
      expr: "n",
      type: "int64",
      ty: { k: "int", bits: 64, signed: true },
      offset: 8,
      size: 8,
    },
  ];
  assertEquals(formatMapJson(counts), '{"type": "map", "data": {"@mk": {"a,1": 1}}}');
  const buckets = new Array(65).fill(0n);
  buckets[1] = 1n;
  buckets[3] = 2n;
  assertEquals(
    formatMapJson(snapshot({ name: "@h", kind: "hist" }, [[[], { kind: "hist", buckets }]])),
    '{"type": "hist", "data": {"@h": [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 2}]}}',
  );
  assertEquals(
    formatMapJson(
      snapshot({ name: "@st", kind: "stats" }, [[[], {
        kind: "stats",
        count: 2n,
        total: 3n,
        average: 1n,
      }]]),
    ),
    '{"type": "stats", "data": {"@st": {"count": 2, "average": 1, "total": 3}}}',
  );
  assertEquals(formatMapJson(snapshot({ name: "@e" }, [])), undefined);
  assertEquals(jsonString('x"y\n\u0001'), '"x\\"y\\n\\u0001"');
});

Deno.test("time(): strftime of the local time", () => {
  const d = new Date(2024, 0, 2, 3, 4, 5);
  assertEquals(strftime("%Y-%m-%d %H:%M:%S %j %%\n", d), "2024-01-02 03:04:05 002 %\n");
});

/** A unit over a fake tracepoint, for checking without tracefs. */
function unitOf(text: string, fields: Record<string, TracepointField["ty"]> = {}): ResolvedProgram {
  const s = src(text);
  const prog = parseProgram(s);
  const units: Unit[] = prog.probes.map((probe, i) => ({
    index: i,
    probe,
    probeIndex: i,
    provider: probe.attach[0].text === "BEGIN" ? "BEGIN" : "tracepoint",
    targets: [],
    cookie: false,
    fields: new Map(
      Object.entries(fields).map(([name, ty]) => [name, {
        name,
        cType: "int",
        decl: `int ${name}`,
        offset: 8,
        size: 8,
        readSize: 8,
        ty,
      }]),
    ),
  }));
  return { units, targets: [], probeNames: [], funcNames: [], cacheable: true };
}

Deno.test("check: types, map kinds and bpftrace's error messages", () => {
  const ok = (text: string, fields = {}) => check(src(text), unitOf(text, fields));
  const err = (text: string, fields = {}) => diag(() => check(src(text), unitOf(text, fields)));
  const c = ok(
    't:a:b { @[comm, args->fd] = count(); @h = hist(args->fd); @s = "x"; @n = sum(args->fd); }',
    {
      fd: { k: "int", bits: 64, signed: true },
    },
  );
  assertEquals([...c.maps.keys()], ["@", "@h", "@s", "@n"]);
  assertEquals(c.maps.get("@")!.keys.map((k) => [k.name, k.ty.k]), [["comm", "str"], [
    "fd",
    "int",
  ]]);
  assertEquals(c.maps.get("@s")!.value, { k: "str", size: 2 });
  assertMatch(err("BEGIN { @x = count(); @x = 1; }"), "Type mismatch for @x");
  assertMatch(err('BEGIN { @x[1] = 1; @x["a"] = 1; }'), "Argument mismatch for @x");
  assertMatch(
    err('BEGIN { printf("%d\\n", "s"); }'),
    "%d specifier expects a value of type integer",
  );
  assertMatch(err('BEGIN { printf("%s %s\\n", "s"); }'), "Not enough arguments");
  assertMatch(err("BEGIN { @x = lhist(1, 0, 10, 0); }"), "lhist() step must be >= 1");
  assertMatch(err("BEGIN { @x = foo(); }"), "Unknown function: foo");
  assertMatch(err("BEGIN { @x = $y; }"), "Undefined or undeclared variable: $y");
  assertMatch(err("BEGIN { @x = @nope; }"), "Undefined map: @nope");
  assertMatch(err("BEGIN { @x = retval; }"), "retval builtin can only be used");
  assertMatch(err("BEGIN { count(); }"), "should be directly assigned to a map");
  assertMatch(err("BEGIN { @x = comm + 1; }"), "Type mismatch for '+'");
  assertMatch(
    err('BEGIN { printf("%d", kstack); }'),
    "%d specifier expects a value of type integer",
  );
  assertMatch(err("BEGIN { @x = kstack(2000); }"), "limit shouldn't exceed 1024, 2000 given");
  assertMatch(err("BEGIN { @x = ustack(3, perf); }"), "expects a stack mode literal");
  assertMatch(err("BEGIN { @x = kstack(raw); }"), "Unknown identifier: 'raw'");
  assertMatch(err("BEGIN { @x = kstack(perf, 1, 2); }"), "takes up to 2 arguments (3 provided)");
  assertMatch(err("BEGIN { @x = kstack; @x = kstack(3); }"), "value of type 'kstack(3)'");
  assertMatch(err("BEGIN { @x = kstack + 1; }"), "comparing 'kstack' with 'int64'");
  assertMatch(err('BEGIN { system("ls"); }'), "function 'system' is not supported");
  assertMatch(err("BEGIN { @c = count(); @x = @c; }"), "reading a count() map");
  assertMatch(err("t:a:b { @x = args->nope; }", {}), "no field 'nope'");
});

Deno.test("kstack/ustack: kinds by name, the C they take stacks with, bpftrace's layouts", () => {
  for (const user of [false, true]) {
    for (const mode of ["bpftrace", "perf"] as const) {
      for (const depth of [127, 3]) {
        const k: StackKind = { user, mode, depth };
        assertEquals(parseStackKind(stackKindName(k)), k);
      }
    }
  }
  assertEquals(stackKindName({ user: true, mode: "perf", depth: 3 }), "ustack(perf, 3)");
  assertEquals(parseStackKind("comm"), undefined);

  const spec = compileProbe(
    'BEGIN { @[ustack(perf, 5), comm] = count(); @k = kstack; printf("%s\\n", kstack(3)); }',
  );
  assertEquals(spec.stackPids, true);
  assertEquals(spec.maps.find((m) => m.name === "@")!.keys.map((k) => k.type), [
    "ustack(perf, 5)",
    "string[16]",
  ]);
  for (const want of ["bt_stack_5", "bt_stack_127", "bt_stack_3", "BPF_F_USER_STACK"]) {
    assert(spec.c.includes(want), want);
  }
  assert(spec.c.includes('SEC("tracepoint/sched/sched_process_exec")'), "stack_pids.bpf.h");
  assertEquals(compileProbe("BEGIN { @k[kstack] = count(); }").stackPids, undefined);

  // The text as bpftrace lays it out: 4 spaces in keys, 8 elsewhere, a tab in perf mode.
  const frames = [
    { address: 0xffffffff821ed69an, kernel: true, symbol: "do_syscall_64", offset: 506 },
    { address: 0xffffffff82400076n, kernel: true, symbol: "entry_SYSCALL_64", offset: 118 },
  ];
  const fake = {
    closed: false,
    map: () => ({
      getBytes: () => new Uint8Array(new BigUint64Array(frames.map((f) => f.address)).buffer),
    }),
  } as unknown as BpfObject;
  using stacks = new ProbeStacks(fake, false);
  const kernel = (mode: StackKind["mode"]): StackKind => ({ user: false, mode, depth: 127 });
  const sym = stacks.symbolizer.kernel;
  const named = frames.map((f) => sym.frame(f.address).symbol);
  if (named.every((n) => n !== undefined)) {
    assertMatch(stacks.text(kernel("bpftrace"), 7n, true), /^\n {4}\S+\n {4}\S+\n$/);
    assertMatch(stacks.text(kernel("bpftrace"), 7n, false), /^\n {8}\S+\n {8}\S+\n$/);
    assertMatch(stacks.text(kernel("perf"), 7n, true), /^\n\tffffffff821ed69a \S+\n\t/);
    assertEquals(stacks.frames(kernel("bpftrace"), 7n).length, 2);
  }
  // Not taken: -EFAULT is an empty stack (bpftrace's), -EEXIST says it was lost.
  assertEquals(stacks.text(kernel("bpftrace"), BigInt.asUintN(32, -14n), true), "\n");
  assertMatch(stacks.text(kernel("bpftrace"), BigInt.asUintN(32, -17n), false), /\[lost: /);
});
