// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
// Map layouts round-trip through the BTF codecs on the real kernel: padded and packed
// struct keys, key_size-only maps, per-CPU values, iteration and errors.
// Needs root (creating maps); CI runs as root.
import { BpfError, BpfMap, BpfObject, possibleCpus } from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { bpfTest, fixture, leakGuard } from "./helpers.ts";

async function loaded() {
  const obj = await BpfObject.open(fixture("maps"));
  obj.map("big").maxEntries; // info before load
  obj.load();
  return obj;
}

bpfTest(
  "a padded struct key ({u64,u32} is 16 bytes) and a nested value round-trip",
  async () => {
    using obj = await loaded();
    const m = obj.map("padded");
    assertEquals([m.keySize, m.keyType], [16, "struct padded_key"]);
    const value = {
      count: 3,
      name: "hello",
      hist: [1n, 2n, 3n, 4n],
      inner: { a: 255, b: 65535 },
    };
    m.set({ id: 1n << 40n, port: 443 }, value);
    assertEquals(m.get({ id: 1n << 40n, port: 443 }), value);
    assertEquals(m.get({ id: 1n << 40n, port: 80 }), undefined);
    assert(m.has({ id: 1n << 40n, port: 443 }));
    // Raw bytes address the same entry: id little-endian, then port, then 4 bytes padding.
    const raw = new Uint8Array(16);
    new DataView(raw.buffer).setBigUint64(0, 1n << 40n, true);
    new DataView(raw.buffer).setUint32(8, 443, true);
    assertEquals(m.get(raw), value);
    assertEquals(m.count(), 1);
    assertEquals([...m.entries()], [[{ id: 1n << 40n, port: 443 }, value]]);
    assert(m.delete({ id: 1n << 40n, port: 443 }));
    assertEquals(m.delete({ id: 1n << 40n, port: 443 }), false);
  },
);

bpfTest(
  "a packed struct key is 12 bytes and round-trips",
  async () => {
    using obj = await loaded();
    const m = obj.map("packed");
    assertEquals(m.keySize, 12);
    m.set({ id: 7n, port: 9 }, 99n);
    assertEquals(m.get({ id: 7n, port: 9 }), 99n);
    assertEquals(m.toArray(), [[{ id: 7n, port: 9 }, 99n]]);
  },
);

bpfTest(
  "a key_size/value_size map without BTF works with raw bytes",
  async () => {
    using obj = await loaded();
    const m = obj.map("raw_sized");
    assertEquals([m.keySize, m.valueSize, m.keyType], [6, 10, "u8[6]"]);
    const key = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const value = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    m.set(key, value);
    assertEquals(m.get(key), value);
    assertEquals([...m.keys()], [key]);
    assertThrows(() => m.set(new Uint8Array(4), value), BpfError, "key has 4 bytes");
    assertThrows(() => m.set(1, value), BpfError, "no BTF type");
  },
);

bpfTest(
  "a per-CPU array holds one value per possible CPU",
  async () => {
    using obj = await loaded();
    const m = obj.map<number, bigint[]>("percpu");
    const ncpu = possibleCpus();
    assertEquals(m.get(0), new Array(ncpu).fill(0n));
    obj.program("bump_percpu").testRun({ data: new Uint8Array(64), repeat: 5 });
    const after = m.get(0)!;
    assertEquals(after.reduce((a, b) => a + b, 0n), 5n, "5 runs counted on some CPU");
    const values = Array.from({ length: ncpu }, (_, i) => BigInt(i + 10));
    m.set(1, values);
    assertEquals(m.get(1), values);
    obj.map("percpu").set(2, 3n); // one value for every CPU
    assertEquals(m.get(2), new Array(ncpu).fill(3n));
    assertThrows(() => m.set(3, [1n]), BpfError, "one per possible CPU");
    assertEquals(m.count(), 4, "an array has every slot");
  },
);

bpfTest(
  "keys that do not fit the BTF type name the map, the type and the value",
  async () => {
    using obj = await loaded();
    const e = assertThrows(() => obj.map("small_array").set(-1, 1), BpfError);
    assertEquals(e.message.split("\n")[0].includes("map set 'small_array'"), true, e.message);
    assert(e.message.includes("-1") && e.message.includes("u32"), e.message);
    assertThrows(() => obj.map("padded").get({ id: 1n, nope: 2 }), BpfError, "struct padded_key");
    assertThrows(() => obj.map("small_array").get("x"), BpfError, "u32");
    assertThrows(() => obj.map("small_array").set(100, 1), BpfError, "map set 'small_array'");
  },
);

bpfTest(
  "array maps clear to zero and hash maps clear to empty; update flags are honoured",
  async () => {
    using obj = await loaded();
    const a = obj.map<number, number>("small_array");
    a.set(3, 30);
    assertEquals(a.clear(), 8);
    assertEquals(a.get(3), 0);
    const h = obj.map("packed");
    for (let i = 0; i < 10; i++) h.set({ id: BigInt(i), port: i }, BigInt(i));
    assertEquals(h.count(), 10);
    assertThrows(() => h.set({ id: 1n, port: 1 }, 5n, "noexist"), BpfError, "EEXIST");
    assertThrows(() => h.set({ id: 99n, port: 1 }, 5n, "exist"), BpfError, "ENOENT");
    assertEquals(h.clear(), 10);
    assertEquals(h.count(), 0);
  },
);

bpfTest(
  "iteration over a large hash map is batched and sees every entry once",
  async () => {
    using obj = await loaded();
    const m = obj.map<number, { a: bigint; b: bigint }>("big");
    const n = 20000;
    const keys = new Uint8Array(4);
    const kv = new DataView(keys.buffer);
    const vals = new Uint8Array(16);
    for (let i = 0; i < n; i++) {
      kv.setUint32(0, i, true);
      new DataView(vals.buffer).setBigUint64(0, BigInt(i), true);
      m.set(keys, vals);
    }
    const seen = new Set<number>();
    for (const [k, v] of m.entries()) {
      assertEquals(v.a, BigInt(k));
      seen.add(k);
    }
    assertEquals(seen.size, n);
    assertEquals(m.toArray().length, n);
    assertEquals(m.count(), n);
  },
);

bpfTest(
  "a pinned map reopens from bpffs with its BTF types",
  async () => {
    const guard = leakGuard();
    const path = `/sys/fs/bpf/bpfsh_test_${Deno.pid}`;
    const obj = await loaded();
    guard.seen();
    obj.map("packed").set({ id: 5n, port: 6 }, 7n);
    obj.map("packed").pin(path);
    try {
      using again = BpfMap.fromPinned(path);
      assertEquals(again.get({ id: 5n, port: 6 }), 7n);
      assertEquals(again.keyType, "struct packed_key");
    } finally {
      Deno.removeSync(path);
      obj.close();
    }
    await guard.check();
  },
);
