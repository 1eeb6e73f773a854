/**
 * User-space symbols without BPF: the ELF image reader (segments, build-id, symbols), the
 * sorted symbol index, /proc/PID/maps and perf-map parsing, stripped binaries with a debug
 * file under a build-id path, frame-pointer detection, and a live process of the
 * stack_chain fixture (tests/fixtures/stack_chain.c) named through its memory map.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { ROOT } from "./helpers.ts";
import { ElfImage, PT_LOAD } from "../bpf/elf/image.ts";
import { BinarySymbols, hasFramePrologue } from "../bpf/stack/binary.ts";
import { parsePerfMap } from "../bpf/stack/perf_map.ts";
import { findMapping, parseProcMaps } from "../bpf/stack/proc_maps.ts";
import { SymbolIndex, withoutVersion } from "../bpf/stack/symtab.ts";
import { Symbolizer } from "../bpf/stack/symbolizer.ts";
import { stackAddresses, stackIdProblem } from "../bpf/stack/capture.ts";
import { foldedLine, toFolded } from "../bpf/stack/folded.ts";
import { decodePprof, encodePprof } from "../bpf/stack/pprof.ts";
import { formatFrame, type Frame } from "../bpf/stack/frame.ts";
import { BpfError } from "../ffi/errors.ts";

const CHAIN = `${ROOT}/build/tests/stack_chain`;
const CHAIN_FUNCTIONS = ["gamma", "beta", "alpha", "main"];

function run(cmd: string, args: string[]): void {
  const out = new Deno.Command(cmd, { args, stderr: "piped" }).outputSync();
  assert(out.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** The fixture's linked address of a function. */
function addressOf(name: string): number {
  using elf = ElfImage.open(CHAIN);
  const syms = elf.functionSymbols()!;
  const index = SymbolIndex.fromElf(syms);
  for (let i = 0; i < index.size; i++) if (index.name(i) === name) return index.start(i);
  throw new Error(`${name} is not in ${CHAIN}`);
}

/** A stripped copy of the fixture, and its debug file under DIR/.build-id/xx/yyyy.debug. */
function strippedCopy(dir: string): { binary: string; debugDir: string; buildId: string } {
  const binary = `${dir}/stack_chain.stripped`;
  const debug = `${dir}/stack_chain.debug`;
  run("objcopy", ["--only-keep-debug", CHAIN, debug]);
  run("objcopy", ["--strip-all", CHAIN, binary]);
  Deno.chmodSync(binary, 0o755);
  using elf = ElfImage.open(binary);
  const buildId = elf.buildId()!;
  const debugDir = `${dir}/debug`;
  Deno.mkdirSync(`${debugDir}/.build-id/${buildId.slice(0, 2)}`, { recursive: true });
  Deno.renameSync(debug, `${debugDir}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`);
  return { binary, debugDir, buildId };
}

Deno.test("ElfImage reads segments, the build-id and .symtab of the fixture", () => {
  using elf = ElfImage.open(CHAIN);
  assertEquals(elf.header.type, 3, "a PIE");
  assert(elf.segments.some((s) => s.type === PT_LOAD && (s.flags & 1)), "an executable PT_LOAD");
  assertMatch(elf.buildId() ?? "", /^[0-9a-f]{40}$/);
  assert(elf.hasSymtab());
  const syms = elf.functionSymbols()!;
  assertEquals(syms.table, ".symtab");
  const index = SymbolIndex.fromElf(syms);
  const gamma = addressOf("gamma");
  assertEquals(index.lookup(gamma + 5), { name: "gamma", offset: 5 });
  assertEquals(elf.addressOf(elf.offsetOf(gamma)!), gamma);
});

Deno.test("ElfImage.open() of a file that is not ELF is a BpfError naming it", () => {
  const path = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(path, "#!/bin/sh\necho not elf, but long enough to hold a header\n");
    const e = assertThrows(() => ElfImage.open(path), BpfError);
    assertMatch(e.message, /bad magic/);
    assertMatch(e.message, new RegExp(path));
  } finally {
    Deno.removeSync(path);
  }
  assertThrows(() => ElfImage.open("/nonexistent"), BpfError, "cannot open");
});

Deno.test("SymbolIndex prefers the global alias and bounds symbols by their size", () => {
  const strings = new TextEncoder().encode("\0__getppid\0getppid\0next\0");
  const index = SymbolIndex.fromElf({
    table: ".dynsym",
    value: new Float64Array([0x2000, 0x1000, 0x1000]),
    size: new Float64Array([0x10, 0x20, 0x20]),
    bind: new Uint8Array([1, 0, 1]),
    nameOffset: new Uint32Array([19, 1, 11]),
    strings,
  });
  assertEquals(index.size, 2);
  assertEquals(index.lookup(0x1004), { name: "getppid", offset: 4 });
  assertEquals(index.lookup(0x1020), undefined, "past the end of getppid, before next");
  assertEquals(index.lookup(0x2008)?.name, "next");
  assertEquals(index.lookup(0xfff), undefined);
  assertEquals(withoutVersion("clock_nanosleep@GLIBC_2.2.5"), "clock_nanosleep");
  assertEquals(withoutVersion("memcpy@@GLIBC_2.14"), "memcpy");
  assertEquals(withoutVersion("operator@x y"), "operator@x y");
});

Deno.test("parseProcMaps() and findMapping() find the mapping of an address", () => {
  const maps = parseProcMaps([
    "7f00a000-7f00b000 r-xp 00000000 00:00 0 ",
    "55d0c000-55d0d000 r--p 00000000 fe:00 1234                       /usr/bin/x",
    "55d0d000-55d0f000 r-xp 00001000 fe:00 1234                       /usr/bin/x (deleted)",
    "7ffd1000-7ffd3000 r-xp 00000000 00:00 0                          [vdso]",
    "garbage",
  ].join("\n"));
  assertEquals(maps.length, 4);
  const m = findMapping(maps, 0x55d0d123)!;
  assertEquals([m.path, m.offset, m.deleted, m.perms], ["/usr/bin/x", 0x1000, true, "r-xp"]);
  assertEquals(findMapping(maps, 0x55d0f000), undefined);
  assertEquals(findMapping(maps, 0x7f00a800)?.path, "");
});

Deno.test("parsePerfMap() reads JIT symbols; later code at an address replaces earlier", () => {
  const index = parsePerfMap(
    "7f00a000 40 JS:~hot file:///x.js:3:1\n0x7f00a000 0x20 JS:*hot file:///x.js:3:1\n" +
      "7f00b000 10 Builtin:ArgumentsAdaptor\nnot a line\n",
  );
  assertEquals(index.lookup(0x7f00a010), { name: "JS:*hot file:///x.js:3:1", offset: 0x10 });
  assertEquals(index.lookup(0x7f00a030), undefined);
  assertEquals(index.lookup(0x7f00b001)?.name, "Builtin:ArgumentsAdaptor");
});

Deno.test("BinarySymbols names a stripped copy through its debug file's build-id path", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const { binary, debugDir, buildId } = strippedCopy(dir);
    using elf = ElfImage.open(binary);
    assert(!elf.hasSymtab(), "stripped");
    const offset = elf.offsetOf(addressOf("beta") + 3)!;
    using named = BinarySymbols.open(binary, { debugDirs: [debugDir] });
    assertEquals(named.lookupOffset(offset), { symbol: "beta", offset: 3 });
    assertEquals(named.buildId, buildId);
    assertMatch(named.symbolSource ?? "", /\.build-id\/.*\.debug$/);
    using bare = BinarySymbols.open(binary, { debugDirs: [`${dir}/nowhere`] });
    const miss = bare.lookupOffset(offset);
    assert("unknown" in miss, "no symbol without the debug file");
    assertMatch(miss.unknown, /stripped; no debug file for build-id [0-9a-f]{40}/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("BinarySymbols tells a binary with frame pointers from one without", () => {
  assert(hasFramePrologue(new Uint8Array([0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5])));
  assert(!hasFramePrologue(new Uint8Array([0x48, 0x83, 0xec, 0x08])));
  using withFp = BinarySymbols.open(CHAIN);
  assertEquals(withFp.framePointers(), true);
  const dir = Deno.makeTempDirSync();
  try {
    const out = `${dir}/chain_nofp`;
    run("cc", [
      "-O2",
      "-fomit-frame-pointer",
      "-fno-builtin",
      "-o",
      out,
      `${ROOT}/tests/fixtures/stack_chain.c`,
    ]);
    using noFp = BinarySymbols.open(out);
    assertEquals(noFp.framePointers(), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Symbolizer names a live process's frames through /proc/PID/maps, after it exits too", async () => {
  const child = new Deno.Command(CHAIN, { args: ["300"], stdout: "null" }).spawn();
  using sym = new Symbolizer();
  try {
    // Wait for the loader to map the program and libc.
    for (
      let i = 0;
      i < 50 && !Deno.readTextFileSync(`/proc/${child.pid}/maps`).includes("libc");
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert(sym.remember(child.pid), "the process is there");
    const maps = parseProcMaps(Deno.readTextFileSync(`/proc/${child.pid}/maps`));
    const base = maps.find((m) => m.path === CHAIN && m.offset === 0)!.start;
    // A PIE's first mapping holds file offset 0, which is linked at 0.
    const stack = CHAIN_FUNCTIONS.map((f, i) => BigInt(base + addressOf(f) + (i ? 9 : 4)));
    await child.status;
    const frames = sym.userFrames(child.pid, [...stack, 0n, 0x1234n]);
    assertEquals(frames.map((f) => f.symbol), CHAIN_FUNCTIONS);
    assertEquals(frames.map((f) => f.offset), [4, 9, 9, 9]);
    assertEquals(frames[0].module, CHAIN);
    const lost = sym.userFrames(child.pid, [0x10n])[0];
    assertMatch(formatFrame(lost), /^0x10 \[unknown: not in any mapping of process \d+\]$/);
  } finally {
    try {
      child.kill();
    } catch { /* already gone */ }
  }
  const never = new Symbolizer().userFrames(999999999, [0x401000n])[0];
  assertMatch(never.unknown ?? "", /exited before its memory map was read|cannot read/);
});

Deno.test("stackAddresses() trims at the first zero; stackIdProblem() explains ids", () => {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setBigUint64(0, 0xffffffff81000000n, true);
  new DataView(bytes.buffer).setBigUint64(8, 0x401000n, true);
  assertEquals([...stackAddresses(bytes)], [0xffffffff81000000n, 0x401000n]);
  assertEquals([...stackAddresses([5n, 6n, 0n, 7n])], [5n, 6n]);
  assertEquals([...stackAddresses([5n, 6n, 7n], 8)], [5n]);
  assertEquals(stackIdProblem(3), undefined);
  assertMatch(stackIdProblem(-17)!, /stack map is full/);
  assertMatch(stackIdProblem(-14, true)!, /no user stack/);
});

const FRAMES: Frame[] = [
  { address: 0x1010n, kernel: false, symbol: "gamma", offset: 16, module: "/x" },
  { address: 0x1110n, kernel: false, symbol: "main", offset: 9, module: "/x" },
];
const KFRAMES: Frame[] = [
  { address: 0xffffffff81000010n, kernel: true, symbol: "do_syscall_64", offset: 16 },
];

Deno.test("folded lines run from the outermost user frame to the innermost kernel frame", () => {
  const s = { pid: 7, comm: "x;y", user: FRAMES, kernel: KFRAMES, value: 3 };
  assertEquals(foldedLine(s), "x:y;main;gamma;do_syscall_64 3");
  assertEquals(toFolded([s, { ...s, value: 2 }, { ...s, kernel: [], value: 9 }]), [
    "x:y;main;gamma 9",
    "x:y;main;gamma;do_syscall_64 5",
  ]);
});

Deno.test("encodePprof() output decodes back: frames innermost first, labels, values", async () => {
  const bytes = await encodePprof(
    [{ pid: 7, comm: "x", user: FRAMES, kernel: KFRAMES, value: 3 }],
    { periodNanos: 1e9 / 99 },
  );
  assertEquals([bytes[0], bytes[1]], [0x1f, 0x8b], "gzipped");
  const p = await decodePprof(bytes);
  assertEquals(p.types, ["samples/count", "cpu/nanoseconds"]);
  assertEquals(p.samples[0].frames, ["do_syscall_64", "gamma", "main"]);
  assertEquals(p.samples[0].values, [3, Math.round(3e9 / 99)]);
  assertEquals(p.samples[0].labels, { comm: "x", pid: 7 });
});
