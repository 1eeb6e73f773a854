// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * The perf buffer reader on the real kernel (fixture tests/fixtures/events.bpf.c): decoded
 * events with their CPU, lost samples counted, records that wrap the ring, loops that
 * break and restart, and no fds or mappings left behind.
 */

import { BpfError } from "../ffi/errors.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { PerfBuffer, type PerfBufferOptions } from "../bpf/events/perfbuf.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { bpfTest, closeWhileWaiting, fixture, streamResources } from "./helpers.ts";

/** What on_execve and blast write. */
interface DataT {
  pid: number;
  uid: number;
  command: string;
  message: string;
}

async function loaded(): Promise<BpfObject> {
  const obj = await BpfObject.open(fixture("events"));
  obj.load();
  return obj;
}

function perfbuf(obj: BpfObject, opts: PerfBufferOptions = {}): PerfBuffer<DataT> {
  return new PerfBuffer<DataT>(obj.map("output"), { type: "data_t", ...opts });
}

/** Run the fixture's blast program: `count` data_t samples with pid = first, first + 1, ... */
function blast(obj: BpfObject, count: number, first: number): void {
  const ctx = new Uint8Array(new BigUint64Array([BigInt(count), BigInt(first)]).buffer);
  obj.program("blast").testRun({ ctx, repeat: 0 });
}

bpfTest("PerfBuffer delivers the data_t an execve wrote, with its CPU", async () => {
  using obj = await loaded();
  obj.program("on_execve").attach();
  using pb = perfbuf(obj);
  assertEquals(pb.typeName, "struct data_t");
  const child = new Deno.Command("/bin/true").spawn();
  await child.status;
  let found: { cpu: number; data: DataT } | undefined;
  for await (const ev of pb.events({ signal: AbortSignal.timeout(5000) })) {
    if (ev.data.pid === child.pid) {
      found = ev;
      break;
    }
  }
  assert(found, `no event for pid ${child.pid} within 5 s`);
  assert(pb.cpus.includes(found.cpu), `cpu ${found.cpu} is not one of ${pb.cpus}`);
  assertEquals(found.data.uid, Deno.uid());
  assertEquals(found.data.message, "Hello World");
  assertEquals(pb.stats.lost, 0);
});

bpfTest("PerfBuffer counts the samples the kernel lost and reads on", async () => {
  using obj = await loaded();
  const lost: number[] = [];
  using pb = perfbuf(obj, { pageCount: 1, onLost: (n) => lost.push(n) });
  blast(obj, 1024, 0);
  const got: number[] = [];
  pb.consume((ev) => got.push(ev.data.pid));
  assert(got.length > 0 && got.length < 1024, `${got.length} samples fit a 4 KiB ring?`);
  assertEquals(got, [...Array(got.length).keys()]);
  // The kernel reports the loss with the next sample that fits.
  blast(obj, 1, 5000);
  pb.consume((ev) => got.push(ev.data.pid));
  assertEquals(got.at(-1), 5000);
  assertEquals(pb.stats.lost, 1024 - (got.length - 1));
  assertEquals(lost.reduce((a, b) => a + b, 0), pb.stats.lost);
});

bpfTest("PerfBuffer reads records that wrap around the end of the ring intact", async () => {
  using obj = await loaded();
  using pb = perfbuf(obj, { pageCount: 1 });
  let next = 0;
  let bad = 0;
  const seen: number[] = [];
  // 48-byte records in a 4096-byte ring: most rounds leave one across the end.
  for (let round = 0; round < 40; round++) {
    blast(obj, 50, next);
    next += 50;
    pb.consume((ev) => {
      seen.push(ev.data.pid);
      if (ev.data.message !== "Hello World" || ev.data.command !== "blast") bad++;
    });
  }
  assertEquals(bad, 0);
  assertEquals(pb.stats.lost, 0);
  assertEquals(seen.sort((a, b) => a - b), [...Array(2000).keys()]);
});

bpfTest("PerfBuffer delivers a lone sample within flushMs although no wake-up came", async () => {
  using obj = await loaded();
  using pb = perfbuf(obj, { wakeupEvents: 1000, flushMs: 20 });
  setTimeout(() => blast(obj, 1, 77), 30);
  const got: number[] = [];
  const t0 = performance.now();
  assertEquals(await pb.poll(2000, (ev) => got.push(ev.data.pid)), 1);
  assertEquals(got, [77]);
  assert(performance.now() - t0 < 1000, "the sample waited for the poll timeout");
});

bpfTest("Breaking out of a perf buffer loop leaves it open and a new loop reads on", async () => {
  using obj = await loaded();
  using pb = perfbuf(obj);
  blast(obj, 30, 0);
  const first: number[] = [];
  for await (const ev of pb) {
    first.push(ev.data.pid);
    if (first.length === 10) break;
  }
  const second: number[] = [];
  for await (const ev of pb) {
    second.push(ev.data.pid);
    if (second.length === 20) break;
  }
  assertEquals([...first, ...second], [...Array(30).keys()]);
  assert(!pb.closed, "break closed the perf buffer");
});

bpfTest("PerfBuffer refuses a map that is not a perf event array, naming it", async () => {
  using obj = await loaded();
  assertThrows(
    () => new PerfBuffer(obj.map("events")),
    BpfError,
    "map 'events' is a ringbuf map, not a perf_event_array",
  );
  assertThrows(
    () => new PerfBuffer(obj.map("output"), { pageCount: 3 }),
    BpfError,
    "page count 3 of map 'output' is not a power of two",
  );
});

bpfTest("Perf buffers leave no fds or mappings behind", async () => {
  const before = streamResources();
  {
    await using obj = await loaded();
    for (let i = 0; i < 3; i++) {
      await using pb = perfbuf(obj, { pageCount: 2 });
      blast(obj, 5, i * 5);
      assertEquals(await pb.poll(100, () => {}), 5);
      await closeWhileWaiting(pb, 10);
    }
  }
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(streamResources(), before);
});

bpfTest("A for await over a perf buffer made for the loop leaves no fds or mappings", async () => {
  await using obj = await loaded();
  const warm = obj.perfbuf("output", { pageCount: 1 });
  blast(obj, 1, 0);
  for await (const _ of warm) break;
  const before = streamResources();
  for (let i = 0; i < 50; i++) {
    const pb = obj.perfbuf<DataT>("output", { type: "data_t", pageCount: 1 });
    blast(obj, 1, i);
    for await (const ev of pb) {
      assertEquals(ev.data.pid, i);
      break;
    }
  }
  assertEquals(streamResources(), before);
});

bpfTest(
  "obj.perfbuf() hands back the map's open reader, or replaces it for other options",
  async () => {
    await using obj = await loaded();
    const a = obj.perfbuf<DataT>("output", { type: "data_t", pageCount: 1 });
    assert(obj.perfbuf("output", { type: "data_t", pageCount: 1 }) === a, "not the open reader");
    blast(obj, 3, 0);
    for await (const _ of a) break; // the loop leaves the reader open, samples wait
    assert(!a.closed, "break closed the perf buffer");
    const b = obj.perfbuf<DataT>("output", { type: "data_t", pageCount: 2 });
    assert(b !== a && a.closed, "other options did not replace the reader");
    blast(obj, 2, 10);
    const got: number[] = [];
    b.consume((ev) => got.push(ev.data.pid));
    assertEquals(got, [10, 11]);
  },
);
