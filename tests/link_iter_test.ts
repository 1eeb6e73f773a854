// @guest
// Iterators: each read of an iter link runs the program anew and returns what it printed
// (tasks, maps, one map's elements); a pinned iterator reads like a file; the shell's
// `iter` prints the output. No iterator fd outlives its read.
import { BpfError, BpfObject } from "../mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfFds, bpfTest, fixture, NOT_ROOT, ROOT } from "./helpers.ts";
import { doctorSays } from "./link_helpers.ts";

bpfTest("iter/task and iter/bpf_map print every task and map, fresh on each read", async () => {
  using obj = await BpfObject.open(fixture("iters"));
  obj.load();
  const tasks = obj.program("dump_tasks").attach();
  const fds = bpfFds().length;
  const text = tasks.readText();
  assertEquals(bpfFds().length, fds, "the iterator fd closed after the read");
  const lines = text.trim().split("\n");
  assert(lines.length > 3, `tasks listed: ${lines.length}`);
  assert(
    lines.some((l) => l === `${Deno.pid} ${Deno.readTextFileSync("/proc/self/comm").trim()}`),
    `this process is listed: ${lines.slice(0, 5).join(" | ")}`,
  );
  assert(lines.some((l) => l.endsWith(" kthreadd")), "kernel threads are listed");
  const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
  try {
    // Its comm may still be ours until exec: the pid is what the new read must show.
    assert(
      tasks.readText().split("\n").some((l) => l.startsWith(`${child.pid} `)),
      "a second read sees a new task",
    );
  } finally {
    child.kill();
    await child.status;
  }
  const maps = obj.program("dump_maps").attach().readText();
  assertMatch(maps, /^\d+ numbers$/m);
});

// Some kernels refuse map-element iterators alone (EPERM even as root; task and map
// iterators load): the doctor's probe says which, and then the load must say so clearly.
const mapElemIterators = !NOT_ROOT && await doctorSays("iter.bpf_map_elem");

bpfTest(
  "iter/bpf_map_elem dumps the map given at attach; none given is a clear error",
  async () => {
    using obj = await BpfObject.open(fixture("iter_map_elem"));
    if (!mapElemIterators) {
      try {
        obj.load();
        throw new Error("the doctor said this kernel refuses map-element iterators");
      } catch (e) {
        assert(e instanceof BpfError, String(e));
        assertMatch(
          e.message,
          /iterator programs are refused by this kernel \('iter\/bpf_map_elem'\)/,
        );
        assertMatch(e.hint ?? "", /map dump/);
      }
      return;
    }
    obj.load();
    const numbers = obj.map<number, bigint>("numbers");
    numbers.set(0, 7n);
    numbers.set(1, 8n);
    numbers.set(2, 9n);
    const prog = obj.program("dump_numbers");
    assertEquals(prog.attach(undefined, { map: numbers }).readText(), "0=7\n1=8\n2=9\n");
    try {
      prog.attach();
      throw new Error("a map iterator attached without a map");
    } catch (e) {
      assert(e instanceof BpfError, String(e));
      assertMatch(e.hint ?? "", "need a map");
    }
  },
);

bpfTest("an iterator attached to a tracepoint is refused", async () => {
  using obj = await BpfObject.open(fixture("iters"));
  obj.load();
  try {
    obj.program("dump_tasks").attach("syscalls/sys_enter_close").read();
    throw new Error("attached an iterator to a tracepoint");
  } catch (e) {
    assert(e instanceof BpfError, String(e));
  }
});

bpfTest("a pinned iterator reads like a file, and read() on other links is refused", async () => {
  using obj = await BpfObject.open(fixture("iters"));
  obj.load();
  const pin = `/sys/fs/bpf/bpfsh_test_iter_${Deno.pid}`;
  const link = obj.program("dump_maps").attach();
  link.pin(pin);
  try {
    assertMatch(Deno.readTextFileSync(pin), /^\d+ numbers$/m);
  } finally {
    Deno.removeSync(pin);
  }
  link.close();
  try {
    link.read();
    throw new Error("read a closed link");
  } catch (e) {
    assert(e instanceof BpfError && /closed/.test(e.message), String(e));
  }
});

bpfTest("the shell's iter command prints an iterator's output", async () => {
  const out = await new Deno.Command(`${ROOT}/bpfsh`, {
    args: ["-c", `load ${fixture("iters")} --no-attach; iter dump_maps`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertMatch(text, /^\d+ numbers$/m);
});
