// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
// Globals of every section kind, checked through socket programs' test-run return values.
// Needs root (loading programs); CI runs as root.
import { BpfError, BpfObject } from "../mod.ts";
import { assertEquals, assertThrows } from "./assert.ts";
import { bpfTest, fixture, leakGuard } from "./helpers.ts";

const PACKET = new Uint8Array(64);

bpfTest(
  "globals: .rodata set before load, .data/.bss/.data.custom changed live after load",
  async () => {
    const guard = leakGuard();
    const obj = await BpfObject.open(fixture("globals"));
    const g = obj.globals;
    assertEquals(
      { ...g },
      {
        ro_value: 7,
        ro_wide: 0n,
        data_value: 11,
        greeting: "hi",
        pair_value: { a: 1, b: 2 },
        custom_value: 3,
        bss_value: 0,
      },
    );
    g.ro_value = 40;
    g.ro_wide = 2n;
    g.data_value = 5;
    obj.load();
    guard.seen();
    const ret = (name: string) => obj.program(name).testRun({ data: PACKET }).retval;
    assertEquals(ret("ret_rodata"), 42, ".rodata value set before load");
    assertEquals(ret("ret_data"), 5, ".data value set before load");
    g.data_value = 1234;
    g.bss_value = 77;
    g.custom_value = 10;
    g.pair_value = { a: 9, b: 20 };
    assertEquals(ret("ret_data"), 1234, ".data changed after load is live");
    assertEquals(ret("ret_bss"), 77, ".bss changed after load is live");
    assertEquals(ret("ret_custom"), 30, ".data.custom and a struct changed live");
    assertEquals(g.bss_value, 77);
    assertEquals(g.ro_value, 40, ".rodata stays readable after load");
    const sections = Object.fromEntries(obj.globalsInfo().map((v) => [v.name, v.section]));
    assertEquals(sections.custom_value, ".data.custom");
    obj.close();
    await guard.check();
  },
);

bpfTest(
  "globals: .rodata is refused after load, bad values and names are clear errors",
  async () => {
    using obj = await BpfObject.open(fixture("globals"));
    const g = obj.globals;
    assertThrows(() => (g.nope = 1), BpfError, "no global variable 'nope'");
    assertThrows(() => (g.data_value = 2 ** 40), BpfError, "does not fit u32");
    assertThrows(() => (g.greeting = "much too long for eight"), BpfError, "char[8]");
    assertEquals(g.data_value, 11, "a failed write leaves the value as it was");
    obj.load();
    assertThrows(() => (g.ro_value = 1), BpfError, "read-only once the object is loaded");
    obj.close();
    assertThrows(() => g.data_value, BpfError, "closed");
  },
);
