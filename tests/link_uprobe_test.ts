// @guest
// Uprobes by symbol in executables and shared libraries, with pid filters: the file offset
// comes from the ELF program headers (a non-PIE executable proves it), and only regular
// ELF files are read, so FIFOs, devices and text files get clear errors, never a hang.
import { BpfError, BpfObject } from "../mod.ts";
import { ElfImage } from "../bpf/elf/image.ts";
import { locateUprobe } from "../bpf/link/uprobe.ts";
import { removeStaleProbeEvents } from "../bpf/link/probe_events.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture, ROOT, run } from "./helpers.ts";

const TARGET = `${ROOT}/build/tests/usdt_target`;
/** A text file: not an ELF file. */
const TEXT = Deno.makeTempFileSync({ prefix: "bpfsh-text-" });
Deno.writeTextFileSync(TEXT, "not an ELF file at all, just words\n".repeat(4));
globalThis.addEventListener("unload", () => Deno.removeSync(TEXT));
const libc = Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } });
/** The libc this process runs with, by its full path. */
const LIBC = /\s(\/\S*\/libc\.so\.6)$/m.exec(Deno.readTextFileSync("/proc/self/maps"))![1];

Deno.test("uprobe offsets come from the program header that maps the symbol", () => {
  using elf = ElfImage.open(TARGET);
  assertEquals(elf.header.type, 2, "the fixture is linked at a fixed address (ET_EXEC, -no-pie)");
  const syms = elf.functionSymbols()!;
  const dec = (at: number) =>
    new TextDecoder().decode(syms.strings.subarray(at, syms.strings.indexOf(0, at)));
  const i = [...syms.nameOffset].findIndex((at) => dec(at) === "main");
  const main = { value: syms.value[i] };
  const text = elf.segments.find((s) => s.type === 1 && s.flags & 1)!;
  const where = locateUprobe(
    { binary: TARGET, func: "main", offset: 4, retprobe: false, pid: -1 },
    "test",
  );
  assertEquals(where.address, main.value + 4);
  assertEquals(where.offset, main.value + 4 - text.vaddr + text.offset);
  assert(where.offset !== where.address, "a fixed-address binary's offset is not its address");
  // A library by name resolves to a file, and its symbol to an offset inside it.
  const m = locateUprobe(
    { binary: "libc.so.6", func: "malloc", offset: 0, retprobe: false, pid: -1 },
    "test",
  );
  assertMatch(m.path, /\/libc\.so\.6$/);
  assert(m.offset > 0);
});

async function uprobes() {
  const obj = await BpfObject.open(fixture("uprobes"));
  obj.load();
  return obj;
}

bpfTest("a uprobe on a library symbol counts only the pid it was given", async () => {
  using obj = await uprobes();
  const calls = obj.map<number, bigint>("calls");
  // Every process's getpid() with no filter; ours only with pid: Deno.pid.
  const all = obj.program("on_call").attach(`${LIBC}:getpid`);
  run("/bin/sh", "-c", "echo $$ >/dev/null");
  libc.symbols.getpid();
  all.close();
  const everyone = [...calls.keys()];
  assert(everyone.includes(Deno.pid), "our getpid() was counted");
  calls.clear();
  const ours = obj.program("on_call").attach("libc.so.6:getpid", { pid: Deno.pid });
  for (let i = 0; i < 3; i++) run("/bin/sh", "-c", "echo $$ >/dev/null");
  libc.symbols.getpid();
  libc.symbols.getpid();
  ours.close();
  assertEquals([...calls.keys()], [Deno.pid], "only this process was counted");
  assert((calls.get(Deno.pid) ?? 0n) >= 2n);
});

bpfTest(
  "a uprobe and uretprobe on a fixed-address executable's main fire once per run",
  async () => {
    using obj = await uprobes();
    obj.program("on_call").attach(`${TARGET}:main`);
    obj.program("on_return").attach(`uretprobe/${TARGET}:main`);
    for (let i = 0; i < 2; i++) {
      const p = new Deno.Command(TARGET, { args: ["1"], stdin: "piped", stdout: "null" }).spawn();
      const w = p.stdin.getWriter();
      await w.write(new TextEncoder().encode("\n"));
      await w.close();
      await p.status;
    }
    const sum = (m: string) => [...obj.map<number, bigint>(m).values()].reduce((a, b) => a + b, 0n);
    assertEquals(sum("calls"), 2n);
    assertEquals(sum("returns"), 2n);
  },
);

bpfTest(
  "uprobe attach errors name the cause: FIFO, device, not ELF, symbol, IFUNC, pid",
  async () => {
    using obj = await uprobes();
    const prog = obj.program("on_call");
    const fails = (target: unknown, opts?: Record<string, unknown>) => {
      try {
        prog.attach(target as string, opts).close();
      } catch (e) {
        assert(e instanceof BpfError, `${target}: ${e}`);
        return e;
      }
      throw new Error(`${target} attached`);
    };
    const fifo = Deno.makeTempFileSync({ prefix: "bpfsh-fifo-" });
    Deno.removeSync(fifo);
    new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
    try {
      assertMatch(fails(`${fifo}:main`).message, "is a FIFO, not a regular file");
    } finally {
      Deno.removeSync(fifo);
    }
    assertMatch(fails("/dev/null:main").message, "not a regular file");
    assertMatch(fails(`${TEXT}:main`).message, "not an ELF file");
    assertMatch(fails("/nonexistent/bin:main").message, "not found");
    const missing = fails("libc.so.6:no_such_function_bpfsh");
    assertEquals(missing.code, "ENOENT");
    assertMatch(missing.message, "no function 'no_such_function_bpfsh'");
    assertMatch(fails("libc.so.6:environ").message, "no function 'environ'");
    assertMatch(fails("libc.so.6:strlen").message, "indirect function (IFUNC)");
    assertMatch(fails(`${TARGET}:0x10`).message, "in no executable segment");
    assertMatch(fails(`${TARGET}:main+100000`).message, "past the end of 'main'");
    assertMatch(fails(123).message, "is a string");
    assertMatch(fails("libc.so.6:getpid", { pid: 2 ** 40 }).message, "not a process id");
    assertMatch(fails("libc.so.6:getpid", { pid: 2 ** 31 - 2 }).message, "no process");
    assertEquals(obj.links.length, 0, "no failed attach left a link");
  },
);

bpfTest("legacy uprobe events of processes that are gone are swept; live ones are kept", () => {
  const events = "/sys/kernel/tracing/uprobe_events";
  // A process that has exited: its pid names a stale event, as a SIGKILL would leave.
  const gone = new Deno.Command("/bin/true").spawn();
  const deadPid = gone.pid;
  const off = locateUprobe(
    { binary: TARGET, func: "main", offset: 0, retprobe: false, pid: -1 },
    "test",
  ).offset;
  const stale = `libbpf_${deadPid}_bpfsh_test_0x0_0`;
  const live = `libbpf_${Deno.pid}_bpfsh_test_0x0_0`;
  return gone.status.then(() => {
    for (const name of [stale, live]) {
      Deno.writeTextFileSync(events, `p:uprobes/${name} ${TARGET}:0x${off.toString(16)}\n`, {
        append: true,
      });
    }
    try {
      assertEquals(removeStaleProbeEvents("uprobe_events"), [stale]);
      const left = Deno.readTextFileSync(events);
      assert(!left.includes(stale), "the dead process's event is gone");
      assert(left.includes(live), "this live process's event is kept");
    } finally {
      for (const name of [stale, live]) {
        try {
          Deno.writeTextFileSync(events, `-:uprobes/${name}\n`, { append: true });
        } catch {
          // Already removed.
        }
      }
    }
  });
});
