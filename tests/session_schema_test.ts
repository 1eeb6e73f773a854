/**
 * Session files are checked against a schema before any step runs: each wrong shape is a
 * ShellError naming the key (never a JavaScript error from inside a command), and a file
 * that is a FIFO, huge, or an alias loop is refused without hanging or exhausting memory.
 */

import { parse } from "yaml";
import { ShellError } from "../shell/errors.ts";
import { sessionCommands } from "../shell/yaml_session.ts";
import { parseSession } from "../shell/session_schema.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { ROOT, withTempDir } from "./helpers.ts";

/** What a session file's text turns into (as runSessionFile parses it). */
function steps(yaml: string) {
  return sessionCommands(parse(yaml, { intAsBigInt: true }));
}

Deno.test("wrong shapes are one ShellError naming the key, not a JavaScript error", () => {
  const cases: [string, string][] = [
    ["run: 5", "run: expected a list, received a number"],
    ["object: {path: [1, 2]}", "object.path: expected string, received array"],
    ["objects: abc", "objects: expected a list, received string"],
    ["object: x.o\nrun: [5]", "run[0]: expected a command or JavaScript line"],
    ["object: {path: x.o, attach: sideways}", "object.attach: expected all, none, or a list"],
    ["tail: {map: e, count: 2.5}", "tail.count: expected an integer"],
    ["object: {path: x.o, progarray: [{map: m, index: -1, program: p}]}", "index: Too small"],
    ["objcts: []", "unknown session key 'objcts'"],
    ["object: {path: x.o, colour: red}", "object: unknown key 'colour'"],
    ["- a\n- b", "a session file must be a YAML mapping"],
  ];
  for (const [yaml, message] of cases) {
    const e = assertThrows(() => steps(yaml), ShellError);
    assertMatch(e.message, message);
  }
});

Deno.test("a YAML alias loop is refused, not serialised until the stack overflows", () => {
  const e = assertThrows(() => steps("object: &o {path: x.o, globals: {a: *o}}"), ShellError);
  assertMatch(e.message, "object.globals.a contains itself");
});

Deno.test("YAML integers (bigint) are accepted where numbers belong and come out as numbers", () => {
  assertEquals(
    steps(
      "object: {path: x.o, progarray: [{map: j, index: 59, program: p}]}\n" +
        "run: [{sleep: 1}]\nwatch: {map: m, interval: 2, times: 3}",
    ),
    [
      ["load", "x.o"],
      ["progarray", "set", "j", "59", "p"],
      { sleep: 1 },
      ["map", "watch", "m", "2", "--times", "3"],
    ],
  );
  const s = parseSession(parse("tail: {map: e, count: 10}", { intAsBigInt: true }));
  assertEquals(s.tail, { map: "e", count: 10 });
});

Deno.test("more steps than a session may have are refused", () => {
  const run = Array.from({ length: 10_001 }, () => "help");
  const e = assertThrows(() => sessionCommands({ run }), ShellError);
  assertMatch(e.message, "more than 10000");
});

/** `bpfsh run FILE`, with a time limit: the bugs here were hangs. */
async function bpfshRun(file: string): Promise<{ code: number; text: string; ms: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(`${ROOT}/bpfsh`, {
    args: ["run", file],
    env: { NO_COLOR: "1", BPFSH_HISTORY: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    text: dec.decode(out.stdout) + dec.decode(out.stderr),
    ms: performance.now() - t0,
  };
}

Deno.test("a session file that is a FIFO, or of 500,000 lines, is refused at once", async () => {
  await withTempDir("bpfsh-session-", async (dir) => {
    const fifo = `${dir}/fifo.yaml`;
    assert((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    const a = await bpfshRun(fifo);
    assertEquals(a.code, 1, a.text);
    assertMatch(a.text, "is a FIFO, not a regular file");
    const big = `${dir}/big.yaml`;
    Deno.writeTextFileSync(big, "run:\n" + '  - "1"\n'.repeat(500_000));
    const b = await bpfshRun(big);
    assertEquals(b.code, 1, b.text);
    assertMatch(b.text, "is larger than 1 MiB");
    const bad = `${dir}/bad.yaml`;
    Deno.writeTextFileSync(bad, "run: 5\n");
    const c = await bpfshRun(bad);
    assertEquals(c.code, 1, c.text);
    assertMatch(c.text, `'${bad}': run: expected a list`);
  });
});
