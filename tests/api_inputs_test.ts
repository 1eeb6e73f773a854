/**
 * Inputs the API used to accept silently or answer badly: each is now a BpfError saying
 * what is wrong (never a RangeError or TypeError, never a silent truncation), and the
 * hints say what the kernel meant.
 */

import { BpfError, BpfObject } from "../mod.ts";
import { hintFor } from "../ffi/errors.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { bpfTest, fixture, NOT_ROOT, ROOT, withTempDir } from "./helpers.ts";

bpfTest("testRun() refuses sizes and repeat counts the kernel would truncate", async () => {
  using obj = await BpfObject.open(fixture("maps"));
  obj.load();
  const p = obj.program("bump_percpu");
  const data = new Uint8Array(64);
  const cases: [Record<string, unknown>, string][] = [
    [{ data, dataOutSize: -1 }, "dataOutSize must be an integer from 0 to 16777216"],
    [{ data, dataOutSize: 2 ** 32 + 8 }, "not 4294967304"],
    [{ data, dataOutSize: 1.5 }, "dataOutSize must be an integer"],
    [{ data, repeat: 2 ** 40 }, "repeat must be an integer from 0 to 4294967295"],
    [{ data, repeat: -1 }, "not -1"],
    [{ data, repeat: "3" }, 'not "3"'],
    [{ data: "abc" }, "data must be a Uint8Array"],
    [{ ctx: [1, 2] }, "ctx must be a Uint8Array"],
  ];
  for (const [opts, message] of cases) {
    const e = assertThrows(() => p.testRun(opts as never), BpfError);
    assertMatch(e.message, message);
  }
  // What is valid still runs.
  assertEquals(p.testRun({ data, repeat: 3, dataOutSize: 128 }).retval, 0);
});

bpfTest("progArray.set() takes a Program or a program name, and says so otherwise", async () => {
  using obj = await BpfObject.open(fixture("tailcall"));
  obj.load();
  const jmp = obj.progArray("jmp");
  const e = assertThrows(() => jmp.set(0, null as never), BpfError);
  assertMatch(e.message, "expected a Program or a program name, not null");
  const named = assertThrows(() => jmp.set(0, "nope"), BpfError);
  assertMatch(named.message, "the object has no program named 'nope'");
  assertMatch(named.hint ?? "", "on_getpid");
  jmp.set(39, "on_getpid");
  assertEquals(jmp.get(39)?.name, "on_getpid");
});

bpfTest("a struct key must name every field; a value may leave fields at 0", async () => {
  using obj = await BpfObject.open(fixture("maps"));
  obj.load();
  const m = obj.map("padded");
  const e = assertThrows(() => m.get({ id: 1n }), BpfError);
  assertMatch(e.message, "leaves out field 'port' of struct padded_key");
  assertThrows(() => m.set({ port: 1 }, new Uint8Array(64)), BpfError, "leaves out field 'id'");
  assertThrows(() => m.get({ id: 1n, port: 2, nope: 3 }), BpfError, "struct padded_key");
  // Values keep C's zero initialisation for the fields left out.
  m.set({ id: 1n, port: 2 }, { count: 5 });
  const v = m.get({ id: 1n, port: 2 }) as { count: number; name: string; hist: bigint[] };
  assertEquals([v.count, v.name, v.hist], [5, "", [0n, 0n, 0n, 0n]]);
});

bpfTest("a full map and an index past an array's end have hints that say so", async () => {
  using obj = await BpfObject.open(fixture("maps"));
  obj.load();
  const arr = obj.map("small_array");
  const past = assertThrows(() => arr.set(8, 1), BpfError);
  assertEquals(past.code, "E2BIG");
  assertMatch(past.hint ?? "", "the index is past the array's end (max_entries 8)");
  const hash = obj.map("packed");
  for (let i = 0; i < 64; i++) hash.set({ id: BigInt(i), port: i }, 1n);
  const full = assertThrows(() => hash.set({ id: 99n, port: 99 }, 1n), BpfError);
  assertEquals(full.code, "E2BIG");
  assertMatch(full.hint ?? "", "the map is full (max_entries 64)");
});

Deno.test("hintFor() reads E2BIG and ENOSPC as the kernel means them, per operation", () => {
  assertMatch(hintFor("map update 'x'", 7)!, "the map is full, or the index is past");
  assertMatch(hintFor("load 'x'", 7)!, "larger than the kernel allows");
  assert(!/key or value/.test(hintFor("map update 'x'", 7)!), "E2BIG is not a size mismatch");
  assertMatch(hintFor("map update 'x'", 28)!, "the map is full");
  assertEquals(hintFor("load 'x'", 28), undefined);
});

bpfTest("map.valueType of a data section map is the section's name", async () => {
  using obj = await BpfObject.open(fixture("globals"));
  const ro = obj.map(".rodata");
  assertEquals(ro.valueType, ".rodata");
  assertEquals(obj.map(".data.custom").valueType, ".data.custom");
  obj.load();
  assert(ro.get(0) instanceof Uint8Array, "a section's value is its bytes");
});

Deno.test({
  name: "doctor without privileges says what it could not probe (helpers included)",
  ignore: NOT_ROOT,
  async fn() {
    await withTempDir("bpfsh-nobody-", async (home) => {
      Deno.chownSync(home, 65534, 65534);
      const run = (args: string[]) =>
        new Deno.Command("setpriv", {
          args: ["--reuid=65534", "--regid=65534", "--clear-groups", `${ROOT}/bpfsh`, ...args],
          env: { HOME: home, NO_COLOR: "1", BPFSH_HISTORY: "" },
          stdout: "piped",
          stderr: "piped",
        }).output();
      const json = await run(["doctor", "--json"]);
      const report = JSON.parse(new TextDecoder().decode(json.stdout));
      const helpers = report.features.filter((f: { kind: string }) => f.kind === "helper");
      assert(helpers.length > 0, "no helpers in the report");
      for (const h of helpers) {
        assertEquals([h.name, h.ok, h.probed], [h.name, false, false]);
        assertMatch(h.reason, "not probed: needs root or CAP_BPF + CAP_PERFMON");
      }
      const text = new TextDecoder().decode((await run(["doctor"])).stdout);
      assertMatch(text, /helpers\s+\d+ not probed/);
      assert(!/helpers\s+\d+ of \d+ work/.test(text), text);
    });
  },
});
