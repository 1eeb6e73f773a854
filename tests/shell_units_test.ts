// Pure parts of the shell (no kernel, no root): the histogram, value parsing, line splitting,
// output formats, session files and the completer's command-level answers.

import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { captureOutput } from "./helpers.ts";
import { log2Hist, slotsOf, stars } from "../shell/hist.ts";
import { parseAssign, parseHex, parseValue } from "../shell/values.ts";
import { firstWord, splitCommands, tokenize } from "../shell/line.ts";
import { formatCell, jsonSafe } from "../shell/output.ts";
import { sessionCommands } from "../shell/yaml_session.ts";
import { ShellError } from "../shell/errors.ts";
import { Dispatcher } from "../shell/dispatch.ts";
import { Completer } from "../shell/complete.ts";
import { parseCli } from "../shell/main.ts";
import { prepareCode } from "../shell/repl_code.ts";

Deno.test("log2Hist() prints bcc's print_log2_hist layout", () => {
  const lines = log2Hist([0, 1, 0, 4], "usecs");
  assertEquals(lines, [
    "     usecs               : count     distribution",
    "         0 -> 1          : 1        |**********                              |",
    "         2 -> 3          : 0        |                                        |",
    "         4 -> 7          : 4        |****************************************|",
  ]);
});

Deno.test("log2Hist() widens the columns past slot 32 and prints nothing for no counts", () => {
  const vals = new Array(40).fill(0);
  vals[35] = 2;
  const lines = log2Hist(vals);
  assertMatch(lines[0], /^ {15}value {25}: count/);
  assertEquals(
    lines.at(-1),
    `${"17179869184".padStart(20)} -> ${"34359738367".padEnd(20)} : 2        |${"*".repeat(20)}|`,
  );
  assertEquals(log2Hist([0, 0, 0]), []);
});

Deno.test("stars() scales like bcc's _stars()", () => {
  assertEquals(stars(5, 10, 40), "*".repeat(20));
  assertEquals(stars(0, 10, 40), "");
  assertEquals(stars(10, 10, 40), "*".repeat(40));
});

Deno.test("slotsOf() sums per-CPU values and reads one-field struct keys", () => {
  assertEquals(slotsOf([[3, 5n], [1, [1n, 2n]], [{ slot: 2 }, 4]]), [0, 3, 4, 5]);
});

Deno.test("parseValue() reads integers, bigints, hex, JSON, JS literals, bytes and strings", () => {
  assertEquals(parseValue("1000"), 1000);
  assertEquals(parseValue("-3"), -3);
  assertEquals(parseValue("0x10"), 16);
  assertEquals(parseValue("18446744073709551615"), 18446744073709551615n);
  assertEquals(parseValue("5n"), 5n);
  assertEquals(parseValue('{"uid": 1}'), { uid: 1 });
  assertEquals(parseValue("{uid: 1, comm: 'sh'}"), { uid: 1, comm: "sh" });
  assertEquals(parseValue("[1, 2]"), [1, 2]);
  assertEquals(parseValue("hex:00ff"), new Uint8Array([0, 255]));
  assertEquals(parseValue("bash"), "bash");
  assertEquals(parseValue("true"), true);
});

Deno.test("parseHex() accepts separators and rejects odd digits", () => {
  assertEquals(parseHex("de:ad be-ef"), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  assertEquals(parseHex("0x0102"), new Uint8Array([1, 2]));
  assertThrows(() => parseHex("abc"), ShellError, "not hex bytes");
});

Deno.test("parseAssign() splits VAR=VALUE and refuses a missing '='", () => {
  assertEquals(parseAssign("filter_uid=1000"), ["filter_uid", 1000]);
  assertThrows(() => parseAssign("filter_uid"), ShellError, "VAR=VALUE");
});

Deno.test("firstWord() tells commands from JavaScript", () => {
  assertEquals(firstWord("map dump counts"), "map");
  assertEquals(firstWord("maps"), "maps");
  assertEquals(firstWord("maps;progs"), "maps");
  assertEquals(firstWord("maps.counts.count()"), undefined);
  assertEquals(firstWord("map = new Map()"), undefined);
  assertEquals(firstWord("x += 1"), undefined);
  assertEquals(firstWord("[1, 2]"), undefined);
});

Deno.test("splitCommands() splits on ';' outside quotes, keeping offsets", () => {
  const parts = splitCommands(`load a.o; map set m 1 "a;b" ;maps`);
  assertEquals(parts.map((p) => p.text), ["load a.o", 'map set m 1 "a;b"', "maps"]);
  assertEquals(parts[1].offset, 10);
  assertEquals(tokenize(`map get names "a b"`), ["map", "get", "names", "a b"]);
});

Deno.test("formatCell() and jsonSafe() render structs, bigints and bytes", () => {
  assertEquals(formatCell({ pid: 1, comm: "sh", v: [1n, 2n] }), '{pid: 1, comm: "sh", v: [1, 2]}');
  assertEquals(formatCell(new Uint8Array([1, 255])), "01ff");
  assertEquals(formatCell(undefined), "-");
  assertEquals(jsonSafe({ n: 5n, big: 1n << 60n, b: new Uint8Array([1]) }), {
    n: 5,
    big: "1152921504606846976",
    b: "01",
  });
});

Deno.test("Output.table() aligns columns and right-aligns numbers", () => {
  const { out, text } = captureOutput();
  out.table([{ name: "counts", entries: 3 }, { name: "events", entries: 12 }]);
  assertEquals(text.out, "NAME    ENTRIES\ncounts        3\nevents       12\n");
});

Deno.test("Output prints one JSON object per line, errors included", () => {
  const { out, text } = captureOutput("json");
  out.table([{ a: 1n }, { a: 2 }]);
  out.error({ command: "map dump", message: "no map named 'x'", hint: "maps: counts" });
  const lines = text.out.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines, [{ a: 1 }, { a: 2 }, {
    error: "no map named 'x'",
    command: "map dump",
    hint: "maps: counts",
  }]);
  assertEquals(text.err, "");
});

Deno.test("Output.error() is one line with the command, cause and hint, then the usage", () => {
  const { out, text } = captureOutput();
  out.error({
    command: "attach",
    message: "missing required argument 'prog'",
    usage: "attach <prog> [target]",
  });
  assertEquals(
    text.err,
    "error: attach: missing required argument 'prog'\nusage: attach <prog> [target]\n",
  );
});

Deno.test("Output.event() prints a header once and aligned rows", () => {
  const { out, text } = captureOutput();
  out.beginStream();
  out.event({ pid: 1, comm: "sh" });
  out.event({ pid: 12345, comm: "bash" });
  assertEquals(text.out, "PID      COMM\n1        sh\n12345    bash\n");
});

Deno.test("sessionCommands() turns a session file into shell commands in order", () => {
  const steps = sessionCommands({
    object: {
      path: "x.o",
      name: "demo",
      globals: { filter_uid: 1000 },
      attach: ["on_exec"],
      maps: { counts: { "7": 1 } },
      progarray: [{ map: "jmp", index: 1, program: "p" }],
    },
    run: ["globals", { sleep: 0.1 }],
    tail: { map: "events", count: 2 },
    dump: "counts",
  });
  assertEquals(steps, [
    ["load", "x.o", "--name", "demo", "--set", "filter_uid=1000", "--no-attach"],
    ["map", "set", "demo.counts", "7", "1"],
    ["progarray", "set", "demo.jmp", "1", "demo.p"],
    ["attach", "demo.on_exec"],
    "globals",
    { sleep: 0.1 },
    ["tail", "events", "--count", "2"],
    ["map", "dump", "counts"],
  ]);
  assertThrows(() => sessionCommands({ objcts: [] } as never), ShellError, "unknown session key");
});

Deno.test("parseCli() reads options up to the first command word", () => {
  const o = parseCli(["--json", "-c", "maps", "--debug", "run", "x.ts", "--flag"]);
  assertEquals(o.format, "json");
  assertEquals(o.commands, ["maps"]);
  assertEquals(o.debug, true);
  assertEquals(o.rest, ["run", "x.ts", "--flag"]);
});

Deno.test("Completer completes commands, sub-commands and options without a kernel", async () => {
  const { out } = captureOutput();
  const c = new Completer(new Dispatcher({ out }));
  assertEquals((await c.complete("ma"))[0].filter((x) => x.endsWith(" ")), ["map ", "maps "]);
  assertEquals(await c.complete("map du"), [["dump "], "du"]);
  assertEquals((await c.complete("map dump x --so"))[0], ["--sort "]);
  assertEquals(await c.complete("map dump x --sort v"), [["value"], "v"]);
  assertEquals(await c.complete("help map w"), [["watch "], "w"]);
  assertEquals(await c.complete("maps; form"), [["format "], "form"]);
  const files = (await c.complete("load tests/fixtures/shell_d"))[0];
  assert(files.includes("tests/fixtures/shell_demo.bpf.c "), `got ${files}`);
});

Deno.test("Dispatcher reports a usage error for a missing argument", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  assertEquals(await d.line("attach"), false);
  assertMatch(text.err, "error: attach: missing required argument 'prog'");
  assertMatch(text.err, "usage: attach [options] <prog> [target]");
  assertEquals(d.exitStatusHint, 2);
  assertEquals(await d.line("map dump counts"), false);
  assertMatch(text.err, "error: map dump: no object is loaded (hint: load FILE first)");
});

Deno.test("Dispatcher runs ';'-separated commands and stops at exit", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  assertEquals(await d.line("format json; format; exit 3; format"), true);
  assertEquals(text.out, "json\n");
  assertEquals(d.exitCode, 3);
});

Deno.test("JavaScript lines keep their declarations, await at the top level and print the last value", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  const lines = [
    "const x = 40",
    "x + 2",
    "let {a, b: [c]} = {a: 1, b: [2]}; a + c",
    "class K { v() { return 7 } }; new K().v()",
    "function f() { return 'f' }",
    "f()",
    "{a: 1}",
    "const r = await Promise.resolve(5); r * 2",
    "r",
    "async function g() { return 9 }; await g()",
    "g.name",
    "for (const i of [1, 2]) {}; 'loop'",
  ];
  for (const l of lines) assert(await d.line(l), l);
  assertEquals(text.out.trim().split("\n"), [
    "42",
    "3",
    "7",
    '"f"',
    "{ a: 1 }",
    "10",
    "5",
    "9",
    '"g"',
    '"loop"',
  ]);
  assertEquals(await d.line("await Promise.reject(new TypeError('nope'))"), false);
  assertMatch(text.err, "error: js: TypeError: nope");
  assertEquals(await d.line("syntax error here"), false);
  assertMatch(text.err, "SyntaxError");
  assertEquals(prepareCode("const x = 1").code, "var x = 1");
  assertEquals(prepareCode("{a: 1}").code, "({a: 1})");
  assert(prepareCode("const r = await f(); r").async);
  assert(
    !prepareCode("async () => { await x }").async,
    "an await inside a function is not top-level",
  );
});
