// The command grammar, without a kernel: the one argument parser (shared with the scripts),
// the per-kind tables and their aliases, help generated from the tables, lines mixing
// commands and JavaScript, `sleep`, `format --json`, and the readable cells of long arrays.

import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { captureOutput } from "./helpers.ts";
import { ArgError, parseWords } from "../shell/args.ts";
import { COMMANDS } from "../shell/commands/table.ts";
import { findCommand, topWords, usage } from "../shell/commands/help.ts";
import type { CommandSpec } from "../shell/commands/types.ts";
import { Dispatcher } from "../shell/dispatch.ts";
import { formatCell } from "../shell/output.ts";
import { splitCommands } from "../shell/line.ts";
import { change } from "../shell/commands/map.ts";
import { isInternalStatic } from "../shell/commands/globals.ts";
import { abortableSleep } from "../shell/sleep.ts";
import { Completer } from "../shell/complete.ts";
import { parseToolArgs, UsageError } from "../scripts/lib/cli.ts";

Deno.test("parseWords() reads options, defaults, repeats and negative numbers as arguments", () => {
  const spec = {
    args: [{ name: "map", help: "", required: true }, { name: "key", help: "" }, {
      name: "value",
      help: "",
    }],
    options: {
      top: { type: "string" as const, help: "", default: "10" },
      set: { type: "string" as const, help: "", multiple: true },
      json: { type: "boolean" as const, short: "j", help: "" },
    },
  };
  const p = parseWords(["counts", "-1", "-0x10", "--set", "a=1", "--set=b=2", "-j"], spec);
  assertEquals(p.args, { map: "counts", key: "-1", value: "-0x10" });
  assertEquals(p.opts, { top: "10", set: ["a=1", "b=2"], json: true });
  assertThrows(() => parseWords([], spec), ArgError, "missing required argument 'map'");
  assertThrows(() => parseWords(["m", "--nope"], spec), ArgError, "unknown option '--nope'");
  assertThrows(() => parseWords(["m", "--top"], spec), ArgError, "'--top TOP' needs a value");
  assertThrows(() => parseWords(["m", "--json=1"], spec), ArgError, "takes no value");
  assertThrows(() => parseWords(["a", "b", "c", "d"], spec), ArgError, "unexpected argument 'd'");
});

Deno.test("the scripts parse with the same parser and report the same errors", () => {
  const spec = { name: "t", summary: "s", filters: ["pid" as const] };
  assertThrows(() => parseToolArgs(spec, ["--nope"]), UsageError, "unknown option '--nope'");
  assert(UsageError === ArgError, "one error class for both");
  assertEquals(parseToolArgs(spec, ["-p", "7"])!.int("pid"), 7);
});

Deno.test("the per-kind tables name every verb, and today's flat verbs are aliases", () => {
  const expect: Record<string, string[]> = {
    "object load": ["object", "load"],
    "object list": ["object", "list"],
    "prog list": ["prog", "list"],
    "prog attach": ["prog", "attach"],
    "prog run": ["prog", "run"],
    "prog pin": ["prog", "pin"],
    "map list": ["map", "list"],
    "map watch": ["map", "watch"],
    "map pin": ["map", "pin"],
    "link detach": ["link", "detach"],
    "link pin": ["link", "pin"],
    "btf has": ["btf", "has"],
    objects: ["object", "list"],
    progs: ["prog", "list"],
    maps: ["map", "list"],
    links: ["link", "list"],
    load: ["object", "load"],
    unload: ["object", "unload"],
    attach: ["prog", "attach"],
    detach: ["link", "detach"],
    globals: ["globals"],
    pin: ["pin"],
    "map delete": ["map", "del"],
    sleep: ["sleep"],
  };
  for (const [typed, path] of Object.entries(expect)) {
    assertEquals(findCommand(COMMANDS, typed.split(" "))?.path, path, typed);
  }
  // No word means two things.
  const seen = new Map<string, string>();
  for (const c of COMMANDS) {
    for (const w of [c.name, ...(c.aliases ?? [])]) {
      assert(!seen.has(w), `'${w}' names ${seen.get(w)} and ${c.name}`);
      seen.set(w, c.name);
    }
  }
  assertEquals(topWords(COMMANDS).get("maps"), ["map", "list"]);
  assertEquals(
    usage(["map", "get"], findCommand(COMMANDS, ["map", "get"])!.spec),
    "map get [options] <map> <key>",
  );
});

Deno.test("help is generated from the tables: every command and verb, and each one's options", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  assert(await d.line("help"));
  const walk = (c: CommandSpec, path: string[]): string[] =>
    c.subcommands?.length
      ? c.subcommands.flatMap((s) => walk(s, [...path, s.name]))
      : [path.join(" ")];
  for (const c of COMMANDS) {
    for (const p of walk(c, [c.name])) {
      assert(text.out.includes(`\n  ${p} `) || text.out.includes(`\n  ${p}\n`), p);
    }
  }
  text.out = "";
  assert(await d.line("help map watch"));
  assertMatch(text.out, "usage: map watch [options] <map> [seconds]");
  assertMatch(text.out, "--rate");
  text.out = "";
  assert(await d.line("map watch --help"));
  assertMatch(text.out, "--delta");
  text.out = "";
  assert(await d.line("help --json"));
  const rows = text.out.trim().split("\n").map((l) => JSON.parse(l));
  assert(rows.some((r) => r.command === "map dump"), text.out);
  assert(rows.some((r) => r.command === "map list" && r.aliases.includes("maps")));
  text.out = "";
  assert(await d.line("help detach --json"));
  assertEquals(JSON.parse(text.out).command, "link detach");
});

Deno.test("format --json sets the format, as format json does", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  assert(await d.line("format --json"));
  assertEquals(out.format, "json");
  assert(await d.line("format --yaml; format table; format"));
  assertEquals(text.out, "table\n");
});

Deno.test("a line runs commands and the JavaScript between them, in order", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  assert(
    await d.line("format table; 20 + 1; format; let n = 0; for (let i = 0; i < 3; i++) n++; n"),
  );
  assertEquals(text.out, "21\ntable\n3\n");
  assertEquals(splitCommands("for (;;) { a; b }; maps").map((p) => p.text), [
    "for (;;) { a; b }",
    "maps",
  ]);
  // A failing JavaScript chunk stops the line.
  text.out = "";
  assertEquals(await d.line("format; nope_not_defined; format"), false);
  assertEquals(text.out, "table\n");
  assertMatch(text.err, "nope_not_defined is not defined");
});

Deno.test("sleep waits, and Ctrl-C ends the wait", async () => {
  const { out } = captureOutput();
  const d = new Dispatcher({ out });
  let t = performance.now();
  assert(await d.line("sleep 0.2"));
  assert(performance.now() - t >= 190, "slept 0.2 s");
  t = performance.now();
  setTimeout(() => d.interrupt(), 50);
  assert(await d.line("sleep 30"));
  assert(performance.now() - t < 5000, "Ctrl-C ended the sleep");
  assertEquals(await d.line("sleep x"), false);
  assertEquals(d.exitStatusHint, 2);
  const ctl = new AbortController();
  ctl.abort();
  assertEquals(await abortableSleep(10_000, ctl.signal), true);
  assertEquals(await abortableSleep(1), false);
});

Deno.test("an unknown command word and an unknown verb are usage errors", async () => {
  const { out, text } = captureOutput();
  const d = new Dispatcher({ out });
  assertEquals(await d.argv(["frobnicate"]), false);
  assertMatch(text.err, "error: unknown command 'frobnicate'");
  assertEquals(await d.line("map frob"), false);
  assertMatch(text.err, "error: map: unknown command 'map frob'");
  assertEquals(d.exitStatusHint, 2);
});

Deno.test("watch --delta/--rate: growth of numbers, per-CPU sums and struct fields", () => {
  assertEquals(change(15n, 5n), 10n);
  assertEquals(change(15, undefined), 15);
  assertEquals(change([3n, 4n], [1n, 1n]), 5n);
  assertEquals(change({ n: 30n, name: "x" }, { n: 10n, name: "x" }, 2), { n: 10, name: "x" });
  assertEquals(change(7, 2, 0.5), 10);
});

Deno.test("cells shorten long arrays and show byte arrays as text or hex", () => {
  const args = [...new TextEncoder().encode("/bin/ls\0-la\0"), ...new Array(500).fill(0)];
  assertEquals(formatCell(args), '"/bin/ls\\0-la"');
  assertEquals(formatCell(new Array(2560).fill(0)), "[0 × 2560]");
  assertEquals(formatCell([1, 2, 3]), "[1, 2, 3]");
  assertEquals(formatCell([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]), "deadbeef01020304");
  const long = Array.from({ length: 40 }, (_, i) => i * 1000);
  assertEquals(formatCell(long), `[${long.slice(0, 16).join(", ")}, … 24 more]`);
  const text = formatCell([...new TextEncoder().encode("x".repeat(100))]);
  assertEquals(text, `"${"x".repeat(64)}"… (36 more bytes)`);
  assert(isInternalStatic("____sched_switch.zero") && !isInternalStatic("filter_pid"));
});

Deno.test({
  name:
    "Tab completes tracepoints as attach targets from their first letters, not only after tracepoint/",
  // Root: tracefs's list of events.
  ignore: Deno.uid() !== 0,
  async fn() {
    const { out } = captureOutput();
    const c = new Completer(new Dispatcher({ out }));
    const [cats] = await c.complete("attach p sysc");
    assert(cats.includes("syscalls/"), `got ${cats}`);
    const [names] = await c.complete("attach p syscalls/sys_enter_clo");
    assert(names.includes("syscalls/sys_enter_close "), `got ${names}`);
    const [kinds] = await c.complete("attach p tr");
    assert(kinds.includes("tracepoint/"), `got ${kinds}`);
    const [full] = await c.complete("attach p tracepoint/sched/sched_process_ex");
    assert(full.includes("tracepoint/sched/sched_process_exec"), `got ${full}`);
  },
});
