// @guest
// USDT: the probes of a binary built against sys/sdt.h are listed from .note.stapsdt, and a
// usdt.bpf.h program attached to one counts its firings and reads its arguments, for one
// process or all. Uprobes work on both kernels of the suite, so this attaches on both.
import { BpfError, BpfObject } from "../mod.ts";
import { usdtProbes } from "../bpf/elf/stapsdt.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture, ROOT } from "./helpers.ts";
import { probeEventsOf } from "./link_helpers.ts";

const TARGET = `${ROOT}/build/tests/usdt_target`;
/** A text file: not an ELF file. */
const TEXT = Deno.makeTempFileSync({ prefix: "bpfsh-text-" });
Deno.writeTextFileSync(TEXT, "not an ELF file at all, just words\n".repeat(4));
globalThis.addEventListener("unload", () => Deno.removeSync(TEXT));

Deno.test("usdtProbes() lists a binary's USDT probes with their argument specs", () => {
  const probes = usdtProbes(TARGET);
  const tick = probes.find((p) => p.provider === "bpfsh" && p.name === "tick");
  assert(tick, `bpfsh:tick listed: ${JSON.stringify(probes)}`);
  assertMatch(tick.args, /^-4@\S+ -8@\S+$/);
  assert(tick.address > 0);
  assert(probes.some((p) => p.name === "done" && p.args === ""));
  // Debian's libc carries no stapsdt notes; a non-ELF file is refused by name.
  try {
    usdtProbes(TEXT);
    throw new Error("read a text file as ELF");
  } catch (e) {
    assert(e instanceof BpfError, String(e));
    assertMatch(e.message, "not an ELF file");
  }
});

/** Run the target, attached to PROBE before it fires; returns what the program counted. */
async function runTarget(obj: BpfObject, pidFilter: boolean, n: number, probe = "tick") {
  const child = new Deno.Command(TARGET, {
    args: [String(n)],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const link = obj.program("on_tick").attach(
    `usdt/${TARGET}:bpfsh:${probe}`,
    pidFilter ? { pid: child.pid } : {},
  );
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("go\n"));
  await w.close();
  const out = await child.output();
  // The gated probe fires only while a tracer holds its semaphore (libbpf sets it).
  const gated = probe === "gated" ? n : 0;
  assertEquals(new TextDecoder().decode(out.stdout).trim(), `fired ${n} gated ${gated}`);
  assertEquals(probeEventsOf(Deno.pid).length, 0, "no legacy uprobe event is used");
  link.close();
  const ticks = obj.map<number, bigint>("ticks");
  return [0, 1, 2].map((i) => ticks.get(i) ?? 0n);
}

bpfTest("a USDT probe counts each firing and reads its arguments, for one pid or all", async () => {
  using obj = await BpfObject.open(fixture("usdt"));
  obj.load();
  // 1..5 fired with (i, i * 10).
  assertEquals(await runTarget(obj, true, 5), [5n, 15n, 150n]);
  obj.map("ticks").clear();
  assertEquals(await runTarget(obj, false, 3), [3n, 6n, 60n]);
});

bpfTest("a USDT probe behind a semaphore fires only while it is attached", async () => {
  const gated = usdtProbes(TARGET).find((p) => p.name === "gated");
  assert(gated && gated.semaphore > 0, "bpfsh:gated has a semaphore");
  using obj = await BpfObject.open(fixture("usdt"));
  obj.load();
  assertEquals(await runTarget(obj, true, 4, "gated"), [4n, 10n, 100n]);
});

bpfTest(
  "USDT attach errors: no such probe (listing those there are), not ELF, a FIFO",
  async () => {
    using obj = await BpfObject.open(fixture("usdt"));
    obj.load();
    const prog = obj.program("on_tick");
    const fails = (target: string) => {
      try {
        prog.attach(target).close();
      } catch (e) {
        assert(e instanceof BpfError, `${target}: ${e}`);
        return e;
      }
      throw new Error(`${target} attached`);
    };
    const missing = fails(`usdt/${TARGET}:bpfsh:nope`);
    assertMatch(missing.message, "no USDT probe 'bpfsh:nope'");
    assertMatch(missing.hint ?? "", "bpfsh:tick");
    assertMatch(fails(`usdt/${TEXT}:a:b`).message, "not an ELF file");
    const fifo = Deno.makeTempFileSync({ prefix: "bpfsh-fifo-" });
    Deno.removeSync(fifo);
    new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    try {
      assertMatch(fails(`usdt/${fifo}:a:b`).message, "is a FIFO, not a regular file");
    } finally {
      Deno.removeSync(fifo);
    }
    assertMatch(fails(`usdt/${TARGET}:bpfsh`).message, "PROVIDER:NAME");
  },
);
