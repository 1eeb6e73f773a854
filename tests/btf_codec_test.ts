/**
 * BTF codecs: decode/encode round trips for every shape of the fixture
 * (tests/fixtures/btf_types.bpf.c), byte positions checked against the C layout, and
 * the encode error messages. Pure logic: no root, no libbpf.
 */

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { fixtureBytes } from "./helpers.ts";
import { Btf } from "../bpf/btf/btf.ts";
import { StrCache } from "../bpf/btf/codec/strings.ts";
import { BtfBuilder } from "../bpf/btf/builder.ts";
import { elfSection } from "../bpf/elf/elf.ts";
import { BpfError } from "../ffi/errors.ts";

const elf = fixtureBytes("btf_types");
const btf = Btf.fromElf(elf);

interface Padded {
  a: bigint;
  b: number;
}

/** The encode error for a value, checked to be a BpfError with op "encode". */
function encodeError(fn: () => unknown): string {
  const e = assertThrows(fn, BpfError);
  assertEquals(e.op, "encode");
  return e.message;
}

Deno.test("codec() is built once per type and reused", () => {
  const c = btf.codec("struct padded");
  assert(c === btf.codec("padded"));
  assert(c === btf.codec(btf.findId("struct padded")!));
  assertEquals(c.size, 16);
  assertEquals(c.typeName, "struct padded");
});

Deno.test("codec decodes the padded struct: u64 as bigint, u32 as number", () => {
  const c = btf.codec<Padded>("struct padded");
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  dv.setBigUint64(0, 0xfedcba9876543210n, true);
  dv.setUint32(8, 0xdeadbeef, true);
  dv.setUint32(12, 0xffffffff, true); // padding: ignored
  assertEquals(c.decode(bytes), { a: 0xfedcba9876543210n, b: 0xdeadbeef });
});

Deno.test('codec with u64: "number" decodes 64-bit ints as numbers, pointers as bigint', () => {
  const c = btf.codec<{ a: number; b: number }>("struct padded", { u64: "number" });
  assert(c === btf.codec("padded", { u64: "number" }), "not cached per option");
  assert(c !== btf.codec("padded"), "the bigint codec was reused");
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  dv.setBigUint64(0, 123456789012345n, true);
  dv.setUint32(8, 7, true);
  assertEquals(c.decode(bytes), { a: 123456789012345, b: 7 });
  assertEquals(c.bind(bytes)(0), { a: 123456789012345, b: 7 });
  dv.setBigUint64(0, 2n ** 64n - 1n, true); // past 2^53: rounded, as documented
  assertEquals(c.decode(bytes).a, 2 ** 64);
  // Encoding takes numbers (and bigints) and round-trips what is exact.
  assertEquals(c.decode(c.encode({ a: 2 ** 53 - 1, b: 1 })), { a: 2 ** 53 - 1, b: 1 });
  assertEquals(c.decode(c.encode({ a: 5n as unknown as number, b: 1 })).a, 5);
  const n = btf.codec<{ neg: number; ptr: unknown }>("struct nested", { u64: "number" });
  const nb = btf.codec<{ neg: bigint }>("struct nested").encode({ neg: -5n });
  assertEquals(n.decode(nb).neg, -5);
  assertEquals(typeof n.decode(nb).ptr, "bigint");
});

Deno.test("codec encode zeroes padding and writes fields at their offsets", () => {
  const c = btf.codec<Padded>("struct padded");
  const out = new Uint8Array(40).fill(0xaa);
  c.encode({ a: 1n, b: 2 }, out, 8);
  const dv = new DataView(out.buffer);
  assertEquals(out[7], 0xaa);
  assertEquals(dv.getBigUint64(8, true), 1n);
  assertEquals(dv.getUint32(16, true), 2);
  assertEquals(dv.getUint32(20, true), 0, "padding is zeroed");
  assertEquals(out[24], 0xaa);
  assertEquals(c.decode(out, 8), { a: 1n, b: 2 });
});

Deno.test("codec u64 fields accept numbers and bigints", () => {
  const c = btf.codec<Padded>("struct padded");
  assertEquals(c.decode(c.encode({ a: 5 as unknown as bigint, b: 1 })), { a: 5n, b: 1 });
  assertEquals(c.decode(c.encode({ a: 2n ** 64n - 1n, b: 0xffffffff })), {
    a: 2n ** 64n - 1n,
    b: 0xffffffff,
  });
});

Deno.test("codec packed struct reads b at offset 8 with no padding", () => {
  const c = btf.codec<Padded>("struct packed_s");
  assertEquals(c.size, 12);
  const bytes = c.encode({ a: 7n, b: 9 });
  assertEquals(bytes.length, 12);
  assertEquals(new DataView(bytes.buffer).getUint32(8, true), 9);
  assertEquals(c.decode(bytes), { a: 7n, b: 9 });
});

Deno.test("codec key_t: char[16] as string, u16 and u8 as numbers", () => {
  const c = btf.codec("struct key_t");
  const v = { pid: 4242, port: 443, proto: 6, comm: "bash" };
  const bytes = c.encode(v);
  assertEquals(bytes.length, 24);
  assertEquals(new DataView(bytes.buffer).getUint16(4, true), 443);
  assertEquals(bytes[6], 6);
  assertEquals(new TextDecoder().decode(bytes.subarray(7, 11)), "bash");
  assertEquals(bytes[11], 0);
  assertEquals(c.decode(bytes), v);
});

Deno.test("codec strings stop at the first NUL, fill the array, and round-trip UTF-8", () => {
  const c = btf.codec<{ comm: string }>("struct key_t");
  const bytes = new Uint8Array(24);
  bytes.set(new TextEncoder().encode("abc\0def"), 7);
  assertEquals(c.decode(bytes).comm, "abc");
  bytes.set(new TextEncoder().encode("0123456789abcdef"), 7); // no NUL at all
  assertEquals(c.decode(bytes).comm, "0123456789abcdef");
  assertEquals(c.decode(c.encode({ comm: "0123456789abcdef" })).comm, "0123456789abcdef");
  assertEquals(c.decode(c.encode({ comm: "héllo wörld" })).comm, "héllo wörld");
});

Deno.test("codec nested struct round-trips every member", () => {
  const c = btf.codec("struct nested");
  const value = {
    p: { a: 1n, b: 2 },
    q: [{ a: 3n, b: 4 }, { a: 5n, b: 6 }],
    arr: [7, 8, 9, 10],
    name: "nested",
    c: 7,
    n: { x: 0x3f800000, f: 1, raw: [0, 0, 0x80, 0x3f] },
    as_u32: 0x00020001,
    as_s16: [1, 2],
    lo: 11,
    hi: 12,
    d: 3.25,
    ptr: 0xffff888000001000n,
    flag: true,
    neg: -5n,
    small: -2,
    sc: -3,
    uc: 250,
    grid: [[1, 2, 3], [4, 5, 6]],
    tagged: -100,
    uptr: 0n,
  };
  const bytes = c.encode(value);
  assertEquals(bytes.length, 160);
  const dv = new DataView(bytes.buffer);
  assertEquals(dv.getBigUint64(16 + 12, true), 5n, "q[1].a at 28 (packed elements)");
  assertEquals(dv.getUint32(40 + 12, true), 10, "arr[3]");
  assertEquals(dv.getUint16(86, true), 12, "anonymous struct hi at 86");
  assertEquals(dv.getFloat64(88, true), 3.25);
  assertEquals(dv.getBigInt64(112, true), -5n);
  assertEquals(dv.getUint32(124 + 5 * 4, true), 6, "grid[1][2]");
  assertEquals(c.decode(bytes), value);
});

Deno.test("codec enums decode to numbers and encode from names", () => {
  const c = btf.codec<{ c: number | string }>("struct nested");
  const bytes = c.encode({ c: "BLUE" });
  assertEquals(new DataView(bytes.buffer).getUint32(72, true), 7);
  assertEquals(c.decode(bytes).c, 7);
  assertEquals(c.decode(c.encode({ c: "NEGATIVE" })).c, 4294967294);
  assertEquals(c.decode(c.encode({ c: -2 })).c, 4294967294, "either signedness is accepted");
  const e = btf.codec("enum color");
  assertEquals(e.decode(e.encode("GREEN")), 1);
  assertEquals(
    encodeError(() => e.encode("PURPLE")),
    'encode: value "PURPLE" is not an enumerator of enum color (expected one of RED, GREEN, BLUE, NEGATIVE)',
  );
});

Deno.test("codec bitfields decode and encode in place, sign-extending signed ones", () => {
  const c = btf.codec("struct bits");
  const v = { a: 5, b: 31, c: -3, d: 0xabcdef1234n, e: 200, f: 511, g: 7, h: true };
  const bytes = c.encode(v);
  assertEquals(bytes[0], 5 | 31 << 3);
  assertEquals(bytes[1] & 0x0f, 0b1101, "c = -3 in 4 bits");
  assertEquals(bytes[7], 200);
  assertEquals(c.decode(bytes), v);
  assertEquals(c.decode(c.encode({ g: "GREEN", h: false })), {
    a: 0,
    b: 0,
    c: 0,
    d: 0n,
    e: 0,
    f: 0,
    g: 1,
    h: false,
  });
  assertEquals(
    encodeError(() => c.encode({ a: 8 })),
    "encode: value 8 does not fit u32:3 at 'struct bits.a'",
  );
  assertEquals(
    encodeError(() => c.encode({ c: 8 })),
    "encode: value 8 does not fit s32:4 at 'struct bits.c'",
  );
  assertEquals(
    encodeError(() => c.encode({ d: 1n << 40n })),
    "encode: value 1099511627776n does not fit u64:40 at 'struct bits.d'",
  );
});

Deno.test("codec unions decode every member and encode the members present", () => {
  const c = btf.codec<{ x?: number; f?: number; raw?: number[] }>("union number");
  assertEquals(c.decode(new Uint8Array([0, 0, 0x80, 0x3f])), {
    x: 0x3f800000,
    f: 1,
    raw: [0, 0, 0x80, 0x3f],
  });
  assertEquals([...c.encode({ f: 1 })], [0, 0, 0x80, 0x3f]);
  assertEquals([...c.encode({ raw: [1, 2, 3, 4] })], [1, 2, 3, 4]);
  assertEquals([...c.encode({ x: 5, raw: [9, 9, 9, 9] })], [5, 0, 0, 0], "x comes first");
  const decoded = c.decode(new Uint8Array([1, 2, 3, 4]));
  assertEquals([...c.encode(decoded)], [1, 2, 3, 4], "a decoded union round-trips");
});

Deno.test("codec unions keep a wider member's bytes under a narrower or lossy one", () => {
  const b = new BtfBuilder();
  const boolT = b.int("_Bool", 1, { bool: true });
  const u64 = b.int("unsigned long long", 8);
  const u16 = b.int("unsigned short", 2);
  const un = b.union("mixed", 8, [
    { name: "flag", type: boolT, bitOffset: 0 },
    { name: "half", type: u16, bitOffset: 0 },
    { name: "wide", type: u64, bitOffset: 0 },
  ]);
  const c = Btf.parse(b.build()).codec<{ flag?: boolean; half?: number; wide?: bigint }>(un);
  const bytes = new Uint8Array([0x68, 2, 3, 4, 5, 6, 7, 8]);
  const v = c.decode(bytes);
  assertEquals(v, { flag: true, half: 0x0268, wide: 0x0807060504030268n });
  assertEquals([...c.encode(v)], [...bytes], "the lossy bool does not clobber byte 0");
  v.half = 0xbeef; // changed in place: the narrower member wins over the old wide value
  assertEquals([...c.encode(v)], [0xef, 0xbe, 3, 4, 5, 6, 7, 8]);
  assertEquals([...c.encode({ flag: true })], [1, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("codec treats a missing field as zero (C zero-initialisation)", () => {
  const c = btf.codec("struct key_t");
  assertEquals(c.decode(c.encode({ pid: 1 })), { pid: 1, port: 0, proto: 0, comm: "" });
  assertEquals(c.decode(c.encode({})), { pid: 0, port: 0, proto: 0, comm: "" });
  const n = btf.codec<{ arr: number[] }>("struct nested");
  assertEquals(n.decode(n.encode({ arr: [1] })).arr, [1, 0, 0, 0], "short arrays are zero-filled");
});

Deno.test("codec encode errors name the type, the field path and the value", () => {
  const k = btf.codec("struct key_t");
  assertEquals(
    encodeError(() => k.encode({ port: 70000 })),
    "encode: value 70000 does not fit u16 at 'struct key_t.port'",
  );
  assertEquals(
    encodeError(() => k.encode({ pid: -1 })),
    "encode: value -1 does not fit u32 at 'struct key_t.pid'",
  );
  assertEquals(
    encodeError(() => k.encode({ pid: 1.5 })),
    "encode: value 1.5 is not an integer for u32 at 'struct key_t.pid'",
  );
  assertEquals(
    encodeError(() => k.encode({ pid: "1" })),
    "encode: value \"1\" is not an integer for u32 at 'struct key_t.pid'",
  );
  assertEquals(
    encodeError(() => k.encode({ comm: "x".repeat(17) })),
    "encode: string \"xxxxxxxxxxxxxxxxx\" (17 bytes) does not fit char[16] at 'struct key_t.comm'",
  );
  assertEquals(
    encodeError(() => k.encode({ comm: 5 })),
    "encode: value 5 is not a string for char[16] at 'struct key_t.comm'",
  );
  assertEquals(
    encodeError(() => k.encode({ pid: 1, comand: "x" })),
    "encode: unknown field 'comand' for struct key_t (fields: pid, port, proto, comm)",
  );
  assertEquals(
    encodeError(() => k.encode(5)),
    "encode: value 5 is not an object for struct key_t",
  );
  assertEquals(
    encodeError(() => k.encode(undefined)),
    "encode: value undefined is not an object for struct key_t",
  );
  const n = btf.codec("struct nested");
  assertEquals(
    encodeError(() => n.encode({ q: [{}, { b: -1 }] })),
    "encode: value -1 does not fit u32 at 'struct nested.q[1].b'",
  );
  assertEquals(
    encodeError(() => n.encode({ arr: [1, 2, 3, 4, 5] })),
    "encode: array of 5 elements does not fit u32[4] at 'struct nested.arr'",
  );
  assertEquals(
    encodeError(() => n.encode({ arr: 3 })),
    "encode: value 3 is not an array for u32[4] at 'struct nested.arr'",
  );
  assertEquals(
    encodeError(() => n.encode({ p: [] })),
    "encode: value an array of 0 is not an object for struct padded at 'struct nested.p'",
  );
  assertEquals(
    encodeError(() => n.encode({ flag: "yes" })),
    "encode: value \"yes\" is not a boolean for _Bool at 'struct nested.flag'",
  );
  assertEquals(
    encodeError(() => n.encode({ neg: 2n ** 63n })),
    "encode: value 9223372036854775808n does not fit s64 at 'struct nested.neg'",
  );
  assertEquals(
    encodeError(() => n.encode({ grid: [[], [0, 0, 1.5]] })),
    "encode: value 1.5 is not an integer for u32 at 'struct nested.grid[1][2]'",
  );
  assertEquals(
    encodeError(() => n.encode({ d: "x" })),
    "encode: value \"x\" is not a number for double at 'struct nested.d'",
  );
  const u32 = btf.codec("u32");
  assertEquals(encodeError(() => u32.encode(-1)), "encode: value -1 does not fit u32");
  assertEquals(
    encodeError(() => u32.encode(1, new Uint8Array(2))),
    "encode: buffer of 2 bytes cannot hold u32 (4 bytes at offset 0)",
  );
});

Deno.test("codec scalars: ints as numbers, 64-bit as bigint, bool as boolean, floats as numbers", () => {
  const u32 = btf.codec<number>("u32");
  assertEquals([...u32.encode(0x01020304)], [4, 3, 2, 1]);
  assertEquals(u32.decode(new Uint8Array([0xff, 0xff, 0xff, 0xff])), 0xffffffff);
  assertEquals(u32.encode(5n as unknown as number)[0], 5, "small ints take in-range bigints");
  const s16 = btf.codec<number>("s16");
  assertEquals(s16.decode(s16.encode(-32768)), -32768);
  const sc = btf.codec<number>("signed char");
  assertEquals(sc.decode(new Uint8Array([0xfe])), -2);
  const s64 = btf.codec<bigint>("s64");
  assertEquals(s64.decode(s64.encode(-1n)), -1n);
  assertEquals(s64.decode(s64.encode(-7 as unknown as bigint)), -7n);
  const b = btf.codec<boolean>("_Bool");
  assertEquals(b.decode(b.encode(true)), true);
  assertEquals(b.decode(b.encode(0 as unknown as boolean)), false);
  const f = btf.codec<number>("float");
  assertEquals(f.decode(f.encode(0.1)), Math.fround(0.1));
  const d = btf.codec<number>("double");
  assertEquals(d.decode(d.encode(0.1)), 0.1);
});

Deno.test("codec decode rejects a short buffer with a decode error", () => {
  const c = btf.codec("struct padded");
  const e = assertThrows(() => c.decode(new Uint8Array(12)), BpfError);
  assertEquals(e.op, "decode");
  assertEquals(
    e.message,
    "decode: buffer of 12 bytes is too short for struct padded (16 bytes at offset 0)",
  );
  assertThrows(() => c.decode(new Uint8Array(32), 20), BpfError, "at offset 20");
  assertThrows(() => c.decodeMany(new Uint8Array(40), 3), BpfError, "too short");
});

Deno.test("codec decode honours the view's byteOffset inside a larger buffer", () => {
  const c = btf.codec<Padded>("struct padded");
  const big = new Uint8Array(64);
  const view = big.subarray(8, 40);
  c.encode({ a: 3n, b: 4 }, view, 16);
  assertEquals(c.decode(big, 24), { a: 3n, b: 4 });
  assertEquals(c.decode(view, 16), { a: 3n, b: 4 });
});

Deno.test("codec decodeMany decodes strided values (per-CPU layout) into a reused array", () => {
  const c = btf.codec<Padded>("struct padded");
  const stride = 24;
  const bytes = new Uint8Array(stride * 3);
  for (let i = 0; i < 3; i++) c.encode({ a: BigInt(i), b: i * 10 }, bytes, i * stride);
  const out: Padded[] = [{ a: 0n, b: 0 }, { a: 0n, b: 0 }, { a: 0n, b: 0 }, { a: 0n, b: 0 }];
  const got = c.decodeMany(bytes, 3, stride, out);
  assert(got === out);
  assertEquals(got, [{ a: 0n, b: 0 }, { a: 1n, b: 10 }, { a: 2n, b: 20 }]);
  const keys = btf.codec<number>("u32");
  assertEquals(keys.decodeMany(new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]), 2), [1, 2]);
  assertEquals(keys.decodeMany(new Uint8Array(0), 0), []);
});

Deno.test("codec decodes globals from the object's data sections", () => {
  const data = elfSection(elf, ".data")!;
  const get = (sec: string, name: string, bytes: Uint8Array) => {
    const v = btf.datasec(sec)!.find((x) => x.name === name)!;
    return btf.codec(v.typeId).decode(bytes, v.offset);
  };
  assertEquals(get(".data", "counter", data), 5n);
  assertEquals(get(".data", "favourite", data), 7);
  assertEquals(get(".data.custom", "label", elfSection(elf, ".data.custom")!), "hello");
  assertEquals(get(".rodata", "prefix", elfSection(elf, ".rodata")!), "bpf");
  assertEquals(get(".rodata", "filter_pid", elfSection(elf, ".rodata")!), 0);
  assertEquals(get(".bss", "last", elfSection(elf, ".bss")!), { a: 0n, b: 0 });
});

Deno.test("codec keeps u8 arrays numeric and spelled char arrays as strings", () => {
  const b = new BtfBuilder();
  const uchar = b.int("unsigned char", 1);
  const u8 = b.typedef("u8", uchar);
  const s = b.struct("addr", 20, [
    { name: "bytes", type: b.array(u8, 4), bitOffset: 0 },
    { name: "text", type: b.array(uchar, 16), bitOffset: 32 },
  ]);
  const c = Btf.parse(b.build()).codec(s);
  assertEquals(c.decode(c.encode({ bytes: [10, 0, 0, 1], text: "hi" })), {
    bytes: [10, 0, 0, 1],
    text: "hi",
  });
  assertEquals(c.decode(c.encode({ bytes: new Uint8Array([1, 2]) })), {
    bytes: [1, 2, 0, 0],
    text: "",
  });
});

Deno.test("codec handles enum64, 128-bit ints, half floats and raw long doubles", () => {
  const b = new BtfBuilder();
  const e64 = b.enum64("big", 8, [["HUGE", 1n << 40n], ["NEG", -5n]], true);
  const i128 = b.int("__int128", 16, { signed: true });
  const half = b.float("_Float16", 2);
  const ld = b.float("long double", 16);
  const s = b.struct("odd", 48, [
    { name: "e", type: e64, bitOffset: 0 },
    { name: "i", type: i128, bitOffset: 64 },
    { name: "h", type: half, bitOffset: 192 },
    { name: "l", type: ld, bitOffset: 256 },
  ]);
  const c = Btf.parse(b.build()).codec(s);
  const raw = new Uint8Array(16).fill(7);
  const v = { e: "HUGE", i: -(1n << 100n), h: 1.5, l: raw };
  assertEquals(c.decode(c.encode(v)), { e: 1n << 40n, i: -(1n << 100n), h: 1.5, l: raw });
  assertEquals((c.decode(c.encode({ e: "NEG" })) as { e: bigint }).e, -5n);
  assertEquals((c.decode(c.encode({ h: 65504 })) as { h: number }).h, 65504);
  assertEquals((c.decode(c.encode({ h: 2 ** -24 })) as { h: number }).h, 2 ** -24);
});

Deno.test("codec splits big structs into helper functions and still round-trips", () => {
  const b = new BtfBuilder();
  const u32 = b.int("unsigned int", 4);
  const members = Array.from({ length: 60 }, (_, i) => ({
    name: `f${i}`,
    type: u32,
    bitOffset: i * 32,
  }));
  const big = b.struct("big", 240, members);
  const arr = b.array(big, 3);
  const outer = b.struct("outer", 720, [{ name: "items", type: arr, bitOffset: 0 }]);
  const c = Btf.parse(b.build()).codec<{ items: Record<string, number>[] }>(outer);
  const items = [0, 1, 2].map((k) =>
    Object.fromEntries(members.map((m, i) => [m.name, k * 100 + i]))
  );
  const bytes = c.encode({ items });
  assertEquals(new DataView(bytes.buffer).getUint32(240 * 2 + 59 * 4, true), 259);
  assertEquals(c.decode(bytes), { items });
});

Deno.test("codec refuses types without a data layout", () => {
  const e = assertThrows(() => btf.codec("on_enter"), BpfError, "has no data layout");
  assertEquals(e.op, "codec");
  assertThrows(() => btf.codec("struct nope"), BpfError, "no type 'struct nope'");
  assertThrows(() => btf.codec(".data"), BpfError, "use datasec()");
  assert(btf.codec("counter") === btf.codec("u64"), "a VAR's codec is its type's");
  const b = new BtfBuilder();
  const f = b.fwd("opaque");
  assertThrows(() => Btf.parse(b.build()).codec(f), BpfError, "only declared");
});

Deno.test("codec bind() decodes like decode() at every offset of one buffer", () => {
  const c = btf.codec("struct key_t");
  const values = [
    { pid: 1, port: 80, proto: 6, comm: "bash" },
    { pid: 4294967295, port: 65535, proto: 17, comm: "systemd-journal" },
    { pid: 0, port: 0, proto: 0, comm: "" },
  ];
  const size = c.size;
  // Values at aligned and unaligned offsets of a larger buffer, seen through a view.
  const backing = new Uint8Array(8 + 3 * (size + 3));
  const bytes = backing.subarray(8);
  const offsets = values.map((_, i) => i * (size + 3));
  values.forEach((v, i) => c.encode(v, bytes, offsets[i]));
  const decode = c.bind(bytes);
  for (const [i, at] of offsets.entries()) {
    assertEquals(decode(at), c.decode(bytes, at));
    assertEquals(decode(at), values[i]);
  }
  // Bound to the memory, not a copy: writes show in the next decode.
  c.encode({ comm: "zsh" }, bytes, offsets[1]);
  assertEquals((decode(offsets[1]) as { comm: string }).comm, "zsh");
  assertThrows(() => c.bind([] as unknown as Uint8Array), BpfError, "expected a Uint8Array");
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a char[n] at `o` must decode to: the bytes up to the first NUL, as UTF-8. */
function expectedString(bytes: Uint8Array, o: number, n: number): string {
  const field = bytes.subarray(o, o + n);
  const nul = field.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? field : field.subarray(0, nul));
}

Deno.test("codec strings decode right through their cache: repeats, lookalikes, garbage", () => {
  const rnd = random(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  // Strings that share prefixes, lengths and words, differ in one byte, or fill the array.
  const pool = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "abcde",
    "abcdefg",
    "abcdefgh",
    "abcdefgi",
    "bbcdefgh",
    "systemd",
    "systemd-journal",
    "systemd-journalX",
    "/usr/bin/bash",
    "/usr/bin/bask",
    "héllo",
    "日本語",
    "\u00ff\u00fe",
    "tab\there",
    // Long ones: matchers of many words, and two that differ only in their first word.
    "/usr/lib/x86_64-linux-gnu/systemd/systemd-journald-and-a-long-tail-of-words",
    "/usr/lib/x86_64-linux-gnu/systemd/systemd-journald-and-a-long-tail-of-wordz",
    "/usr/lib/x86_64-linux-gnu/systemd/systemd-journald-and-a-long-tail-of-word",
    "Xusr/lib/x86_64-linux-gnu/systemd/systemd-journald-and-a-long-tail-of-words",
  ];
  for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 80, 256, 2048]) {
    const b = new BtfBuilder();
    const char = b.int("char", 1, { signed: true });
    const u32 = b.int("unsigned int", 4);
    const size = 4 + n + ((4 - (n % 4)) % 4) + 4;
    const s = b.struct("rec", size, [
      { name: "head", type: u32, bitOffset: 0 },
      { name: "text", type: b.array(char, n), bitOffset: 32 },
      { name: "tail", type: u32, bitOffset: (size - 4) * 8 },
    ]);
    const c = Btf.parse(b.build()).codec<{ head: number; text: string; tail: number }>(s);
    const count = 400;
    const bytes = new Uint8Array(count * size + 1);
    const enc = new TextEncoder();
    for (let i = 0; i < count; i++) {
      const at = i * size;
      // Garbage everywhere first: bytes after a NUL must not matter.
      for (let j = 0; j < size; j++) bytes[at + j] = Math.floor(rnd() * 256);
      const text = enc.encode(pick(pool)).subarray(0, n);
      bytes.set(text, at + 4);
      if (text.length < n) bytes[at + 4 + text.length] = 0;
      // Runs of the same string, to exercise the last-string path.
      if (i > 0 && rnd() < 0.3) bytes.copyWithin(at + 4, at - size + 4, at - size + 4 + n);
    }
    const decode = c.bind(bytes);
    for (let i = 0; i < count; i++) {
      const want = expectedString(bytes, i * size + 4, n);
      assertEquals(decode(i * size).text, want, `char[${n}] record ${i}`);
      assertEquals(c.decode(bytes, i * size).text, want, `char[${n}] record ${i} via decode`);
    }
    // Unaligned: decoded byte by byte, same answers.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const decodeShifted = c.bind(shifted);
    for (let i = 0; i < count; i += 7) {
      assertEquals(decodeShifted(1 + i * size).text, expectedString(bytes, i * size + 4, n));
    }
  }
});

Deno.test("StrCache returns the same string for the same bytes and tells near misses apart", () => {
  const cache = new StrCache(16);
  const bytes = new Uint8Array(64);
  const words = new Int32Array(bytes.buffer);
  const put = (o: number, s: string, garbage: number) => {
    bytes.fill(garbage, o, o + 16);
    bytes.set(new TextEncoder().encode(s), o);
    if (s.length < 16) bytes[o + s.length] = 0;
  };
  put(0, "bash", 0x41);
  put(16, "bash", 0x42); // same string, other garbage after the NUL
  put(32, "bas", 0x68); // "bas\0h...": a prefix of it, NUL where "bash" has 'h'
  put(48, "0123456789abcdef", 0); // fills the array: no NUL
  const first = cache.get(bytes, words, 0);
  assertEquals(first, "bash");
  assertEquals(cache.get(bytes, words, 16), "bash");
  assertEquals(cache.get(bytes, words, 32), "bas");
  assertEquals(cache.get(bytes, words, 0), "bash");
  assertEquals(cache.get(bytes, words, 48), "0123456789abcdef");
  bytes[63] = 0x46; // change the last byte of a full-length string
  assertEquals(cache.get(bytes, words, 48), "0123456789abcdeF");
  assertEquals(cache.get(bytes, words, 2), "sh"); // unaligned: byte by byte
});
