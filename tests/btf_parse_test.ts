/**
 * BTF parser, names, layout and formatting: the compiled fixture
 * (tests/fixtures/btf_types.bpf.c) plus hand-built blobs for what clang 14 does not emit.
 * Pure logic: no root, no libbpf.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { fixtureBytes } from "./helpers.ts";
import { Btf, type BtfComposite, type BtfEnum, type BtfType } from "../bpf/btf/btf.ts";
import { BtfBuilder } from "../bpf/btf/builder.ts";
import { elfSection, elfSections, elfSymbols } from "../bpf/elf/elf.ts";
import { BpfError } from "../ffi/errors.ts";

const elf = fixtureBytes("btf_types");
const btf = Btf.fromElf(elf);

function struct(name: string): BtfComposite {
  const t = btf.find(name);
  assert(t && (t.kind === "struct" || t.kind === "union"), `${name} is a struct or union`);
  return t;
}

/** Member name → [bit offset, bitfield size]. */
function layout(t: BtfComposite): Record<string, [number, number]> {
  return Object.fromEntries(t.members.map((m) => [m.name, [m.bitOffset, m.bitSize]]));
}

Deno.test("Btf.fromElf() gives the padded struct 16 bytes with b at offset 8", () => {
  const t = struct("struct padded");
  assertEquals(t.size, 16);
  assertEquals(layout(t), { a: [0, 0], b: [64, 0] });
});

Deno.test("Btf.fromElf() gives the packed struct 12 bytes", () => {
  const t = struct("struct packed_s");
  assertEquals(t.size, 12);
  assertEquals(btf.sizeOf(t.id), 12);
});

Deno.test("Btf struct layouts match the C compiler's offsets", () => {
  assertEquals(struct("struct key_t").size, 24);
  assertEquals(layout(struct("struct key_t")), {
    pid: [0, 0],
    port: [32, 0],
    proto: [48, 0],
    comm: [56, 0],
  });
  const nested = struct("struct nested");
  assertEquals(nested.size, 160);
  assertEquals(nested.members.length, 18);
  assertEquals(layout(nested).grid, [992, 0]);
});

Deno.test("Btf bitfields carry bit offsets and widths (kind_flag)", () => {
  assertEquals(layout(struct("struct bits")), {
    a: [0, 3],
    b: [3, 5],
    c: [8, 4],
    d: [12, 40],
    e: [56, 0],
    f: [64, 9],
    g: [73, 4],
    h: [77, 1],
  });
});

Deno.test("Btf.find() accepts keywords and bare names, undefined when missing", () => {
  assertEquals(btf.find("struct padded")?.kind, "struct");
  assertEquals(btf.find("  struct   padded ")?.kind, "struct");
  assertEquals(btf.find("padded")?.kind, "struct");
  assertEquals(btf.find("union number")?.kind, "union");
  assertEquals(btf.find("enum color")?.kind, "enum");
  assertEquals(btf.find("u32")?.kind, "typedef");
  assertEquals(btf.find("typedef u32")?.kind, "typedef");
  assertEquals(btf.find("unsigned int")?.kind, "int");
  assertEquals(btf.find("struct number"), undefined);
  assertEquals(btf.find("union padded"), undefined);
  assertEquals(btf.find("struct nope"), undefined);
  assertEquals(btf.find("void")?.kind, "void");
  assertEquals(btf.findId("struct padded"), btf.find("padded")?.id);
});

Deno.test("Btf.find() prefers the struct to a typedef of the same name", () => {
  const b = new BtfBuilder();
  const int = b.int("int", 4, { signed: true });
  const s = b.struct("foo", 4, [{ name: "x", type: int, bitOffset: 0 }]);
  const td = b.typedef("foo", s);
  b.fwd("bar");
  const bar = b.struct("bar", 4, [{ name: "y", type: int, bitOffset: 0 }]);
  const x = Btf.parse(b.build());
  assertEquals(x.findId("foo"), s);
  assertEquals(x.findId("typedef foo"), td);
  assertEquals(x.findId("struct bar"), bar);
  assertEquals(x.findId("bar"), bar);
});

Deno.test("Btf.resolve() skips typedefs, qualifiers and type tags", () => {
  const prefix = btf.datasec(".rodata")!.find((v) => v.name === "prefix")!;
  const arr = btf.typeById(prefix.typeId);
  assert(arr.kind === "array");
  assertEquals(btf.typeById(btf.resolve(arr.type)).name, "char");
  assertEquals(btf.kind(btf.resolve(btf.findId("u64")!)), "int");
});

Deno.test("Btf.sizeOf() follows typedefs and arrays, pointers are 8 bytes", () => {
  assertEquals(btf.sizeOf(btf.findId("u16")!), 2);
  assertEquals(btf.sizeOf(btf.findId("struct nested")!), 160);
  const grid = struct("struct nested").members.find((m) => m.name === "grid")!;
  assertEquals(btf.sizeOf(grid.type), 24);
  const ptr = struct("struct nested").members.find((m) => m.name === "ptr")!;
  assertEquals(btf.sizeOf(ptr.type), 8);
  assertThrows(() => btf.sizeOf(0), BpfError, "has no size");
  assertThrows(() => btf.sizeOf(btf.findId("on_enter")!), BpfError, "has no size");
});

Deno.test("Btf.nameOf() spells types the way C does", () => {
  const nested = struct("struct nested");
  const m = (name: string) => nested.members.find((x) => x.name === name)!.type;
  assertEquals(btf.nameOf(btf.findId("struct key_t")!), "struct key_t");
  assertEquals(btf.nameOf(btf.findId("unsigned int")!), "unsigned int");
  assertEquals(btf.nameOf(m("name")), "char[16]");
  assertEquals(btf.nameOf(m("ptr")), "u64 *");
  assertEquals(btf.nameOf(m("grid")), "u32[2][3]");
  assertEquals(btf.nameOf(m("uptr")), "int __user *");
  assertEquals(btf.nameOf(m("c")), "enum color");
  assertEquals(btf.nameOf(m("n")), "union number");
  assertEquals(btf.nameOf(nested.members[6].type), "union {...}");
  assertEquals(btf.nameOf(0), "void");
  const prefix = btf.datasec(".rodata")!.find((v) => v.name === "prefix")!;
  assertEquals(btf.nameOf(prefix.typeId), "const volatile char[8]");
  assertEquals(btf.nameOf(btf.findId("add_hits")!), "int add_hits(u32 i, u64 n)");
  assertEquals(btf.declare(m("name"), "name"), "char name[16]");
});

Deno.test("Btf.nameOf() parenthesises pointers to functions and arrays", () => {
  const b = new BtfBuilder();
  const int = b.int("int", 4, { signed: true });
  const chr = b.int("char", 1, { signed: true });
  const proto = b.funcProto(int, [{ name: "", type: int }, { name: "", type: 0 }]);
  const fp = b.ptr(proto);
  const arr = b.array(chr, 4);
  const pa = b.ptr(arr);
  const cp = b.qual("const", b.ptr(chr));
  const x = Btf.parse(b.build());
  assertEquals(x.nameOf(fp), "int (*)(int, ...)");
  assertEquals(x.declare(fp, "cb"), "int (*cb)(int, ...)");
  assertEquals(x.declare(pa, "p"), "char (*p)[4]");
  assertEquals(x.declare(cp, "s"), "char *const s");
  assertEquals(x.nameOf(cp), "char *const");
});

Deno.test("Btf.typeById() decodes every kind into a plain record", () => {
  const b = new BtfBuilder();
  const int = b.int("int", 4, { signed: true });
  const ptr = b.ptr(int);
  const arr = b.array(int, 3);
  const st = b.struct("s", 8, [{ name: "x", type: int, bitOffset: 0 }, {
    name: "y",
    type: int,
    bitOffset: 32,
    bitSize: 5,
  }]);
  const un = b.union("u", 4, [{ name: "x", type: int, bitOffset: 0 }]);
  const en = b.enum("e", 4, [["A", -1], ["B", 2]], true);
  const fwd = b.fwd("later", true);
  const td = b.typedef("myint", int);
  const vol = b.qual("volatile", int);
  const con = b.qual("const", int);
  const res = b.qual("restrict", ptr);
  const proto = b.funcProto(int, [{ name: "a", type: int }]);
  const fn = b.func("f", proto, 1);
  const v = b.var("g", int, 1);
  const ds = b.datasec(".data", 4, [{ type: v, offset: 0, size: 4 }]);
  const fl = b.float("double", 8);
  const dt = b.declTag("tag", st, 1);
  const tt = b.typeTag("user", int);
  const e64 = b.enum64("big", 8, [["HUGE", 1n << 40n], ["NEG", -5n]], true);
  const x = Btf.parse(b.build());
  const kinds = [
    int,
    ptr,
    arr,
    st,
    un,
    en,
    fwd,
    td,
    vol,
    con,
    res,
    fn,
    proto,
    v,
    ds,
    fl,
    dt,
    tt,
    e64,
  ]
    .map((id) => x.typeById(id).kind);
  // Written out, not KIND_NAMES.slice(1): the expected names must not come from the table
  // under test.
  assertEquals(kinds, [
    "int",
    "ptr",
    "array",
    "struct",
    "union",
    "enum",
    "fwd",
    "typedef",
    "volatile",
    "const",
    "restrict",
    "func",
    "func_proto",
    "var",
    "datasec",
    "float",
    "decl_tag",
    "type_tag",
    "enum64",
  ]);
  assertEquals(x.count, e64 + 1);
  assertEquals(x.typeById(int), {
    id: int,
    kind: "int",
    name: "int",
    size: 4,
    bits: 32,
    bitOffset: 0,
    signed: true,
    char: false,
    bool: false,
  });
  assertEquals(x.typeById(arr), {
    id: arr,
    kind: "array",
    name: "",
    type: int,
    indexType: int,
    nelems: 3,
  });
  assertEquals((x.typeById(st) as BtfComposite).members[1], {
    name: "y",
    type: int,
    bitOffset: 32,
    bitSize: 5,
  });
  assertEquals((x.typeById(en) as BtfEnum).values.map((e) => e.value), [-1, 2]);
  assertEquals((x.typeById(e64) as BtfEnum).values.map((e) => e.value), [1n << 40n, -5n]);
  assertEquals(x.typeById(fwd), { id: fwd, kind: "fwd", name: "later", union: true });
  assertEquals(x.typeById(fn), { id: fn, kind: "func", name: "f", type: proto, linkage: 1 });
  assertEquals(x.typeById(dt), {
    id: dt,
    kind: "decl_tag",
    name: "tag",
    type: st,
    componentIdx: 1,
  });
  assertEquals(x.typeById(tt), { id: tt, kind: "type_tag", name: "user", type: int });
  assertEquals(x.typeById(ds), {
    id: ds,
    kind: "datasec",
    name: ".data",
    size: 4,
    vars: [{ type: v, offset: 0, size: 4 }],
  });
  assert(Object.isFrozen(x.typeById(st)));
  assert(x.typeById(st) === x.typeById(st), "records are cached");
  assertThrows(() => x.typeById(x.count), BpfError, "out of range");
});

Deno.test("Btf reads clang's decl and type tags from the fixture", () => {
  const tags: BtfType[] = [];
  for (let id = 1; id < btf.count; id++) {
    const k = btf.kind(id);
    if (k === "decl_tag" || k === "type_tag") tags.push(btf.typeById(id));
  }
  assertEquals(tags.map((t) => [t.kind, t.name]), [["decl_tag", "tagged_field"], [
    "type_tag",
    "user",
  ]]);
});

Deno.test("Btf.parse() handles split BTF on a base", () => {
  const b = new BtfBuilder();
  const int = b.int("int", 4, { signed: true });
  b.struct("base_s", 4, [{ name: "x", type: int, bitOffset: 0 }]);
  const baseBytes = b.build();
  const base = Btf.parse(baseBytes);
  const strLen = new DataView(baseBytes.buffer).getUint32(20, true);
  const s = new BtfBuilder({ count: base.count, strLen });
  const p = s.ptr(int);
  const mod = s.struct("mod_s", 16, [
    { name: "x", type: int, bitOffset: 0 }, // "x" is a new local string
    { name: "p", type: p, bitOffset: 64 },
  ]);
  const split = Btf.parse(s.build(), base);
  assertEquals(split.startId, base.count);
  assertEquals(split.count, base.count + 2);
  assertEquals(split.typeById(int).name, "int");
  assertEquals(split.nameOf(p), "int *");
  assertEquals(split.find("struct mod_s")?.id, mod);
  assertEquals(split.find("struct base_s")?.kind, "struct");
  assertMatch(split.format("struct mod_s"), /^\tint x;\s+\/\* {5}0 {5}4 \*\/$/m);
});

Deno.test("Btf old-style bitfields (no kind_flag) decode through the int encoding", () => {
  const b = new BtfBuilder();
  const u3 = b.int("unsigned int", 4, { bits: 3 });
  const s = b.struct("old", 4, [{ name: "a", type: u3, bitOffset: 0 }, {
    name: "b",
    type: u3,
    bitOffset: 3,
  }]);
  const x = Btf.parse(b.build());
  const c = x.codec<{ a: number; b: number }>(s);
  assertEquals(c.decode(new Uint8Array([0b101_110, 0, 0, 0])), { a: 0b110, b: 0b101 });
  assertEquals(c.encode({ a: 6, b: 5 })[0], 0b101_110);
});

Deno.test("Btf.parse() rejects malformed blobs with a btf parse error", () => {
  const good = new BtfBuilder();
  good.int("int", 4);
  const bytes = good.build();
  const e = assertThrows(
    () => Btf.parse(new Uint8Array(10)),
    BpfError,
    "shorter than a BTF header",
  );
  assertEquals(e.op, "btf parse");
  const badMagic = bytes.slice();
  badMagic[0] = 0;
  assertThrows(() => Btf.parse(badMagic), BpfError, "bad magic");
  const bigEndian = bytes.slice();
  bigEndian[0] = 0xeb;
  bigEndian[1] = 0x9f;
  assertThrows(() => Btf.parse(bigEndian), BpfError, "big-endian");
  const badKind = bytes.slice();
  badKind[24 + 7] = 25; // info's kind byte
  assertThrows(() => Btf.parse(badKind), BpfError, "unknown kind 25");
  const truncated = bytes.slice();
  new DataView(truncated.buffer).setUint32(12, 8, true); // type_len cuts the int record
  assertThrows(() => Btf.parse(truncated), BpfError);
  const past = bytes.slice();
  new DataView(past.buffer).setUint32(20, 1000, true);
  assertThrows(() => Btf.parse(past), BpfError, "past the end");
  const badName = bytes.slice();
  new DataView(badName.buffer).setUint32(24, 999, true); // name_off
  assertThrows(() => Btf.parse(badName).typeById(1), BpfError, "string offset 999");
});

Deno.test("Btf.format() prints the padded struct like pahole", () => {
  assertEquals(
    btf.format("struct padded"),
    [
      "struct padded {",
      "\tu64 a;                          /*     0     8 */",
      "\tu32 b;                          /*     8     4 */",
      "",
      "\t/* size: 16, cachelines: 1, members: 2 */",
      "\t/* padding: 4 */",
      "};",
    ].join("\n"),
  );
});

Deno.test("Btf.format() shows bitfields, holes and anonymous members inline", () => {
  const bits = btf.format("struct bits");
  assertMatch(bits, /\tu32 a:3;\s+\/\*\s+0: 0\s+4 \*\//);
  assertMatch(bits, /\tu64 d:40;\s+\/\*\s+0:12\s+8 \*\//);
  assertMatch(bits, "/* XXX 4 bits hole */");
  assertMatch(bits, /\tenum color g:4;\s+\/\*\s+8: 9\s+4 \*\//);
  const nested = btf.format("nested");
  assertMatch(nested, /\tunion \{\n\t\tu32 as_u32;\s+\/\*\s+80\s+4 \*\/\n\t\ts16 as_s16\[2\];/);
  assertMatch(nested, /\t\};\s+\/\*\s+84\s+4 \*\//);
  assertMatch(nested, "/* XXX 7 bytes hole, try to pack */");
  assertMatch(nested, "/* size: 160, cachelines: 3, members: 18 */");
  assertMatch(btf.format("enum color"), "\tBLUE = 7,");
  assertEquals(btf.format("u32"), "typedef __u32 u32; /* size: 4 */");
  assertEquals(btf.format("add_hits"), "int add_hits(u32 i, u64 n);");
  assertThrows(() => btf.format("struct nope"), BpfError, "no type 'struct nope'");
});

Deno.test("Btf.hasField() looks into anonymous members and follows dotted paths", () => {
  assert(btf.hasField("nested", "as_u32"));
  assert(btf.hasField("nested", "hi"));
  assert(btf.hasField("struct nested", "p.a"));
  assert(btf.hasField("nested", "q[1].b"));
  assert(btf.hasField("nested", "n.raw"));
  assert(btf.hasField("number", "f"));
  assert(!btf.hasField("nested", "nope"));
  assert(!btf.hasField("nested", "p.c"));
  assert(!btf.hasField("nested", "q[2].b"));
  assert(!btf.hasField("struct nope", "a"));
  assertEquals(btf.field("nested", "hi"), {
    type: btf.findId("u16"),
    bitOffset: 86 * 8,
    bitSize: 0,
  });
  assertEquals(btf.field("nested", "q[1].b")?.bitOffset, (16 + 12 + 8) * 8);
  assertEquals(btf.field("bits", "g")?.bitSize, 4);
});

Deno.test("Btf.names() completes struct and bare names by prefix", () => {
  assertEquals(btf.names("struct pa"), ["struct packed_s", "struct padded"]);
  assertEquals(btf.names("union "), ["union number"]);
  assertEquals(btf.names("enum c"), ["enum color"]);
  assertEquals(btf.names("u"), [
    "u16",
    "u32",
    "u64",
    "u8",
    "unsigned char",
    "unsigned int",
    "unsigned long long",
    "unsigned short",
  ]);
  assertEquals(btf.names("zzz"), []);
});

Deno.test("Btf.datasec() lists globals with fixed-up offsets from the ELF", () => {
  assertEquals(btf.datasecs().sort(), [
    ".bss",
    ".data",
    ".data.custom",
    ".maps",
    ".rodata",
    "license",
  ]);
  const data = btf.datasec(".data")!;
  assertEquals(data.map((v) => [v.name, v.offset, v.size, btf.nameOf(v.typeId)]), [
    ["counter", 0, 8, "u64"],
    ["favourite", 8, 4, "enum color"],
  ]);
  assertEquals(btf.datasec(".bss")!.map((v) => [v.name, v.offset]), [["last", 0], ["hits", 16]]);
  assertEquals(btf.datasec(".nope"), undefined);
  assertEquals(btf.vars().map((v) => v.name).sort(), [
    "counter",
    "favourite",
    "filter_pid",
    "hits",
    "label",
    "last",
    "prefix",
  ]);
  // The raw section, parsed without fix-ups, has clang's zero offsets.
  const raw = Btf.parse(elfSection(elf, ".BTF")!);
  assertEquals(raw.datasec(".bss")!.map((v) => v.offset), [0, 0]);
});

Deno.test("elfSection() reads sections by name and rejects non-ELF input", () => {
  const names = elfSections(elf).map((s) => s.name);
  assert(names.includes(".BTF") && names.includes(".maps"));
  assertEquals(elfSection(elf, ".nope"), undefined);
  assertEquals(elfSection(elf, ".bss")!.length, 32);
  assert(elfSymbols(elf).some((s) => s.name === "counter"));
  const e = assertThrows(
    () => elfSection(new TextEncoder().encode("not an elf at all, no".repeat(4)), ".BTF"),
    BpfError,
    "not an ELF file",
  );
  assertEquals(e.op, "elf parse");
  assertThrows(() => elfSection(elf.slice(0, 100), ".BTF"), BpfError, "past the end");
  const noBtf = new Uint8Array(64);
  noBtf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
  assertThrows(() => Btf.fromElf(noBtf), BpfError, "no .BTF section");
});
