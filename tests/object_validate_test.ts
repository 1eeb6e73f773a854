/**
 * Corrupt objects are refused before libbpf sees them: every object the set-up builds
 * passes; the crash inputs found by fuzzing, and one hand-made corruption per rule (each a
 * way libbpf 1.1.2 crashes, hangs or reads out of bounds), are refused with a BpfError
 * naming what is broken. None of this needs root: only libbpf's parse is involved.
 */

import { BpfError } from "../ffi/errors.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { checkObject } from "../bpf/elf/validate.ts";
import { elfSections, elfSymbols } from "../bpf/elf/elf.ts";
import { BtfData } from "../bpf/btf/raw.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { fixtureBytes, ROOT } from "./helpers.ts";

/** The crash inputs: each killed the process with SIGSEGV inside libbpf 1.1.2. */
const CRASHES = `${ROOT}/tests/fixtures/corrupt`;

/** Every object the set-up builds. */
function builtObjects(): string[] {
  const out: string[] = [];
  for (const dir of ["build/tests", "build/scripts", "build/bench"]) {
    for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
      if (e.name.endsWith(".bpf.o")) out.push(`${ROOT}/${dir}/${e.name}`);
    }
  }
  return out.sort();
}

Deno.test("checkObject() refuses nothing clang built: every object of the set-up passes", () => {
  const objects = builtObjects();
  assert(objects.length >= 20, `only ${objects.length} objects built`);
  for (const path of objects) checkObject(Deno.readFileSync(path), path);
});

Deno.test("the fuzzer's crash inputs are refused with a BpfError naming the damage", () => {
  const names = [...Deno.readDirSync(CRASHES)].map((e) => e.name).filter((n) => n.endsWith(".o"));
  assertEquals(names.length, 5);
  for (const name of names) {
    const e = assertThrows(() => checkObject(Deno.readFileSync(`${CRASHES}/${name}`)), BpfError);
    assertMatch(e.message, /corrupt (object|\.BTF)/);
    assert(e.hint?.includes("rebuild"), `no hint for ${name}`);
  }
});

Deno.test("opening the crash inputs fails cleanly in a process of its own", async () => {
  // In a child: before the check, each of these files killed the process (SIGSEGV).
  const code = `
    import { BpfObject } from "${ROOT}/bpf/object/object.ts";
    for (const e of Deno.readDirSync("${CRASHES}")) {
      try {
        BpfObject.openSync("${CRASHES}/" + e.name).close();
        console.log("opened " + e.name);
      } catch (err) {
        console.log(err.name + " " + err.code + " " + e.name);
      }
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert(out.success, `child died (signal ${out.signal}): ${new TextDecoder().decode(out.stderr)}`);
  const lines = text.trim().split("\n");
  assertEquals(lines.length, 5);
  for (const l of lines) assertMatch(l, /^BpfError (ENOEXEC|EILSEQ) /);
});

/** A copy of a fixture with a little-endian value written at `at`. */
function patched(bytes: Uint8Array, at: number, width: 1 | 2 | 4 | 8, value: number | bigint) {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  if (width === 1) dv.setUint8(at, Number(value));
  else if (width === 2) dv.setUint16(at, Number(value), true);
  else if (width === 4) dv.setUint32(at, Number(value), true);
  else dv.setBigUint64(at, BigInt(value), true);
  return out;
}

/** Where things are in a fixture: sections, symbols, BTF type records. */
function layout(name: string) {
  const bytes = fixtureBytes(name);
  const sections = elfSections(bytes);
  const section = (n: string) => sections.find((s) => s.name === n)!;
  const symtab = sections.find((s) => s.type === 2)!;
  const symbols = elfSymbols(bytes, sections);
  const symbol = (n: string) => {
    const i = symbols.findIndex((s) => s.name === n);
    assert(i >= 0, `no symbol ${n}`);
    return { ...symbols[i], at: symtab.offset + 24 * i };
  };
  const btfSec = section(".BTF");
  const btf = new BtfData(bytes.subarray(btfSec.offset, btfSec.offset + btfSec.size));
  const typeBase = btfSec.offset + btf.header.hdrLen + btf.header.typeOff;
  /** File offset of a type's record, by kind and name (name "" for the first anonymous). */
  const type = (kind: string, n: string) => {
    for (let id = 1; id < btf.count; id++) {
      const t = btf.decode(id);
      if (t.kind === kind && t.name === n) return { id, at: typeBase + btf.pos(id) * 4, t };
    }
    throw new Error(`no ${kind} '${n}' in ${name}`);
  };
  return { bytes, sections, section, symbol, btf, type, btfSec };
}

/** Refused, with a BpfError whose message matches. */
function refused(bytes: Uint8Array, part: RegExp): void {
  const e = assertThrows(() => checkObject(bytes, "open 'x'"), BpfError);
  assertMatch(e.message, part);
  // Through the real open too: the refusal comes before libbpf.
  assertThrows(() => BpfObject.fromBytes(bytes, { name: "x" }), BpfError, "corrupt");
}

Deno.test("a program symbol whose offset wraps around is refused (libbpf reads before its section)", () => {
  const { bytes, symbol } = layout("exec_count");
  const s = symbol("count_exec");
  refused(patched(bytes, s.at + 8, 8, 0xffffffffffffff00n), /symbol \d+: .* runs past section/);
});

Deno.test("a relocation section that applies to section 0 is refused (libbpf dereferences NULL)", () => {
  const { bytes, sections } = layout("exec_count");
  const rel = sections.find((s) => s.type === 9 && s.name.startsWith(".reltracepoint"))!;
  const shoff = Number(new DataView(bytes.buffer).getBigUint64(0x28, true));
  refused(patched(bytes, shoff + rel.index * 64 + 44, 4, 0), /applies to section 0/);
});

Deno.test("a relocation naming a symbol past the table is refused", () => {
  const { bytes, sections } = layout("exec_count");
  const rel = sections.find((s) => s.type === 9 && s.name.startsWith(".reltracepoint"))!;
  refused(patched(bytes, rel.offset + 12, 4, 999), /names symbol 999/);
});

Deno.test("a program that ends in the first half of a 64-bit load is refused", () => {
  const { bytes, section, symbol } = layout("exec_count");
  const s = symbol("count_exec");
  const last = section("tracepoint/syscalls/sys_enter_execve").offset + s.value + s.size - 8;
  refused(patched(bytes, last, 1, 0x18), /ends inside a 64-bit load/);
});

Deno.test("BTF naming a type id past the table is refused (the five crash inputs' cause)", () => {
  const { bytes, type, btf } = layout("exec_count");
  const t = type("typedef", "u32");
  refused(patched(bytes, t.at + 8, 4, btf.count + 5), /typedef refers to type \[\d+\]/);
});

Deno.test("a typedef of itself is refused (libbpf's skip_mods_and_typedefs never ends)", () => {
  const { bytes, type } = layout("exec_count");
  const t = type("typedef", "u32");
  refused(patched(bytes, t.at + 8, 4, t.id), /contains itself/);
});

Deno.test("a struct that contains itself is refused", () => {
  const { bytes, type } = layout("fuzz_seed");
  const t = type("struct", "seed_sample");
  // Member 0 (pid) becomes the struct itself.
  refused(patched(bytes, t.at + 12 + 4, 4, t.id), /contains itself|lies past its end/);
});

Deno.test("an int whose bits run past its bytes is refused (a codec read past its buffer)", () => {
  // The fuzzer's one non-BpfError in 100,000 inputs: "unsigned int" with its 32 bits at
  // bit 2 made a global's decoder read a fifth byte past its section.
  const { bytes, type } = layout("globals");
  const t = type("int", "unsigned int");
  refused(patched(bytes, t.at + 12, 4, (2 << 16) | 32), /int of 4 bytes and 32 bits at bit 2/);
});

Deno.test("a func that is not a func_proto is refused", () => {
  const { bytes, type } = layout("exec_count");
  const f = type("func", "count_exec");
  const int = type("int", "unsigned int");
  refused(patched(bytes, f.at + 8, 4, int.id), /func refers to a int/);
});

Deno.test("a name offset past the string section is refused", () => {
  const { bytes, type } = layout("exec_count");
  const t = type("typedef", "u32");
  refused(patched(bytes, t.at, 4, 0x7fffffff), /type \[\d+\]: string offset 2147483647/);
});

Deno.test("a bitfield of a struct type is refused (libbpf divides by its size)", () => {
  const { bytes, type } = layout("fuzz_seed");
  const t = type("struct", "seed_sample");
  assert(t.t.kind === "struct" && t.t.members[2].bitSize > 0, "member 2 is a bitfield");
  const other = type("struct", "task_struct");
  refused(patched(bytes, t.at + 12 + 2 * 12 + 4, 4, other.id), /bitfield member 2 is a struct/);
});

Deno.test("a CO-RE relocation naming a missing type is refused (libbpf reads past its table)", () => {
  const { bytes, section } = layout("fuzz_seed");
  const ext = section(".BTF.ext");
  const dv = new DataView(bytes.buffer);
  const hdrLen = dv.getUint32(ext.offset + 4, true);
  const coreOff = dv.getUint32(ext.offset + 24, true);
  // record size, then the first block: section name, count, then the first record.
  const rec = ext.offset + hdrLen + coreOff + 4 + 8;
  refused(patched(bytes, rec + 4, 4, 0xfffff), /core_relo block 0 record 0: type \[1048575\]/);
});

Deno.test("a .maps map declared struct_ops is refused (libbpf dereferences NULL at load)", () => {
  const { bytes, btf, type } = layout("exec_count");
  // The map's `type` member is a pointer to an array of BPF_MAP_TYPE_HASH (1) elements.
  const def = type("struct", "");
  assert(def.t.kind === "struct" && def.t.members[0].name === "type", "first anonymous struct");
  const ptr = btf.decode(def.t.members[0].type);
  assert(ptr.kind === "ptr");
  const arr = ptr.type;
  const at = layout("exec_count").btfSec.offset + btf.header.hdrLen + btf.header.typeOff +
    btf.pos(arr) * 4;
  refused(patched(bytes, at + 12 + 8, 4, 26), /declared struct_ops/);
});

Deno.test("truncated and non-ELF bytes are refused before libbpf", () => {
  const bytes = fixtureBytes("exec_count");
  for (const cut of [0, 10, 63, 64, 500, bytes.length - 1]) {
    assertThrows(() => BpfObject.fromBytes(bytes.slice(0, cut)), BpfError);
  }
});
