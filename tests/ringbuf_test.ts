// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * The ring buffer reader on the real kernel (fixture tests/fixtures/events.bpf.c): decoded
 * events from a tracepoint, drops counted by the BPF side of an overfilled ring, loops
 * that break and restart, several rings at once, and no fds or mappings left behind.
 */

import { BpfError } from "../ffi/errors.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { copyWrapped, RingBuffer } from "../bpf/events/ringbuf.ts";
import { guessEventType } from "../bpf/events/decoder.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { bpfTest, closeWhileWaiting, fixture, streamResources } from "./helpers.ts";

/** What fill() writes into the 4 KiB ring `small`. */
interface FillEvent {
  seq: bigint;
  tag: bigint;
}

/** What on_execve writes into both buffers. */
interface DataT {
  pid: number;
  uid: number;
  command: string;
  message: string;
}

function ctx(...args: number[]): Uint8Array {
  return new Uint8Array(new BigUint64Array(args.map(BigInt)).buffer);
}

/** Run the fixture's fill program: `count` fill_events tagged `tag` into `small`. */
function fill(obj: BpfObject, count: number, tag: number): void {
  obj.program("fill").testRun({ ctx: ctx(count, tag), repeat: 0 });
}

/** The fixture's fill_stats counters: [sent, dropped]. */
function fillStats(obj: BpfObject): [number, number] {
  const m = obj.map("fill_stats");
  const read = (k: number) => {
    const v = m.getBytes(new Uint8Array(new Uint32Array([k]).buffer));
    return v ? Number(new BigUint64Array(v.slice().buffer)[0]) : -1;
  };
  return [read(0), read(1)];
}

async function loaded(): Promise<BpfObject> {
  const obj = await BpfObject.open(fixture("events"));
  obj.load();
  return obj;
}

bpfTest("RingBuffer delivers the data_t an execve wrote, decoded through BTF", async () => {
  using obj = await loaded();
  obj.program("on_execve").attach();
  const rb = obj.ringbuf<DataT>("events", { type: "data_t" });
  assertEquals(rb.typeName, "struct data_t");
  const child = new Deno.Command("/bin/true").spawn();
  await child.status;
  let found: DataT | undefined;
  const timeout = AbortSignal.timeout(5000);
  for await (const ev of rb.events({ signal: timeout })) {
    if (ev.pid === child.pid) {
      found = ev;
      break;
    }
  }
  assert(found, `no event for pid ${child.pid} within 5 s`);
  assertEquals(found.uid, Deno.uid());
  assertEquals(found.message, "Hello World");
  assert(found.command.length > 0, "empty command");
  assert(rb.stats.events >= 1 && rb.stats.bytes >= 36, JSON.stringify(rb.stats));
});

bpfTest(
  "RingBuffer without a type yields Uint8Array copies when the event struct is ambiguous",
  async () => {
    using obj = await loaded();
    // The fixture has both data_t and fill_event: no single guess.
    const rb = obj.ringbuf("small");
    assertEquals(rb.typeName, "bytes");
    fill(obj, 3, 9);
    const got: Uint8Array[] = [];
    assertEquals(rb.consume((ev) => got.push(ev)), 3);
    assertEquals(got.map((b) => b.length), [16, 16, 16]);
    assertEquals(got.map((b) => b[0]), [0, 1, 2]);
    assertEquals(got[2][8], 9);
    // Copies: reading on does not change what was returned.
    fill(obj, 200, 1);
    rb.consume(() => {});
    assertEquals([got[2][0], got[2][8]], [2, 9]);
  },
);

Deno.test("copyWrapped() copies a record that runs past the end of the ring", () => {
  const ring = new Uint8Array(16).map((_, i) => i);
  const out = new Uint8Array(16);
  copyWrapped(ring, 12, 8, out);
  assertEquals([...out.subarray(0, 8)], [12, 13, 14, 15, 0, 1, 2, 3]);
  copyWrapped(ring, 4, 8, out); // does not wrap
  assertEquals([...out.subarray(0, 8)], [4, 5, 6, 7, 8, 9, 10, 11]);
  copyWrapped(ring, 15, 16, out); // the whole ring, from its last byte
  assertEquals([...out], [15, ...Array(15).keys()]);
});

Deno.test("guessEventType() picks the only event-like struct, else nothing", () => {
  assertEquals(guessEventType(["data_t", "fill_ctx"]), "data_t");
  assertEquals(guessEventType(["exec_event", "key_t"]), "exec_event");
  assertEquals(guessEventType(["event"]), "event");
  assertEquals(guessEventType(["data_t", "fill_event"]), undefined);
  assertEquals(guessEventType(["key_t", "val_t"]), undefined);
});

bpfTest("An overfilled ring drops what the BPF side counts, and the reader goes on", async () => {
  using obj = await loaded();
  const rb = obj.ringbuf<FillEvent>("small", { type: "struct fill_event" });
  fill(obj, 1000, 1);
  const [sent, dropped] = fillStats(obj);
  assertEquals(sent + dropped, 1000);
  assert(dropped > 0, "nothing was dropped: the ring is not full");
  const got: FillEvent[] = [];
  assertEquals(rb.consume((ev) => got.push(ev)), sent);
  assertEquals(got.map((e) => Number(e.seq)), [...Array(sent).keys()]);
  // The read found the ring full: the kernel does not count the drops, the reader says so.
  assertEquals(rb.stats, { events: sent, bytes: sent * 16, full: 1 });
  // Room again: the next records arrive whole and in order.
  fill(obj, 10, 2);
  assertEquals(fillStats(obj), [sent + 10, dropped]);
  const more: FillEvent[] = [];
  assertEquals(await rb.poll(1000, (ev) => more.push(ev)), 10);
  assertEquals(
    more.map((e) => [Number(e.seq), Number(e.tag)]),
    [...Array(10).keys()].map((i) => [i, 2]),
  );
});

bpfTest("Breaking out of a for await leaves the ring open and a new loop reads on", async () => {
  using obj = await loaded();
  const rb = obj.ringbuf<FillEvent>("small", { type: "fill_event" });
  fill(obj, 100, 3);
  const first: number[] = [];
  for await (const ev of rb) {
    first.push(Number(ev.seq));
    if (first.length === 10) break;
  }
  assert(!rb.closed, "break closed the ring");
  // Events the first loop read ahead are handed to the next one, in order.
  const second: number[] = [];
  for await (const ev of rb) {
    second.push(Number(ev.seq));
    if (second.length === 90) break;
  }
  assertEquals([...first, ...second], [...Array(100).keys()]);
  assertEquals(rb.consume(() => {}), 0);
  fill(obj, 5, 4);
  let batches = 0;
  for await (const batch of rb.batches()) {
    batches++;
    assertEquals(batch.map((e) => Number(e.tag)), [4, 4, 4, 4, 4]);
    break;
  }
  assertEquals(batches, 1);
});

bpfTest("A poll() loop over a ring that keeps filling loses nothing and keeps order", async () => {
  using obj = await loaded();
  const rb = obj.ringbuf<FillEvent>("small", { type: "fill_event" });
  // Each poll() after one that emptied the ring first lets events pile up (lazy
  // batching): whatever lands meanwhile must still come, whole and in order.
  const got: [number, number][] = [];
  for (let tag = 0; tag < 20; tag++) {
    fill(obj, 50, tag);
    while (got.length < (tag + 1) * 50) {
      assert(await rb.poll(1000, (ev) => got.push([Number(ev.tag), Number(ev.seq)])) > 0);
    }
  }
  assertEquals(fillStats(obj), [1000, 0]);
  assertEquals(got, [...Array(1000).keys()].map((i) => [Math.floor(i / 50), i % 50]));
  assertEquals(await rb.poll(0, () => {}), 0);
});

bpfTest("batches() hands out arrays of at most maxBatch events, in order", async () => {
  using obj = await loaded();
  const rb = obj.ringbuf<FillEvent>("small", { type: "fill_event" });
  fill(obj, 20, 6);
  const sizes: number[] = [];
  const seqs: number[] = [];
  for await (const batch of rb.batches({ maxBatch: 7 })) {
    sizes.push(batch.length);
    seqs.push(...batch.map((e) => Number(e.seq)));
    if (seqs.length === 20) break;
  }
  assertEquals(sizes, [7, 7, 6]);
  assertEquals(seqs, [...Array(20).keys()]);
  // An aborted signal ends the iteration without waiting.
  const ac = new AbortController();
  ac.abort();
  let n = 0;
  for await (const _ of rb.batches({ signal: ac.signal })) n++;
  assertEquals(n, 0);
});

bpfTest(
  "A for await over many refills reads ahead a little and hands out all in order",
  async () => {
    using obj = await loaded();
    const rb = obj.ringbuf<FillEvent>("small", { type: "fill_event" });
    const seen: number[] = [];
    for (let round = 0; round < 5; round++) {
      fill(obj, 150, round);
      for await (const ev of rb) {
        assertEquals(Number(ev.tag), round);
        seen.push(Number(ev.seq));
        if (seen.length === (round + 1) * 150) break;
      }
    }
    assertEquals(seen, [...Array(750).keys()].map((i) => i % 150));
    assertEquals(rb.stats.events, 750);
  },
);

bpfTest(
  "close() ends a loop that waits on an empty ring, and reading after it throws",
  async () => {
    using obj = await loaded();
    const rb = obj.ringbuf("small");
    const { received, endedMs } = await closeWhileWaiting(rb, 50);
    assertEquals(received, 0);
    assert(endedMs < 1000, "the waiting loop did not end promptly");
    rb.close(); // idempotent
    let err: unknown;
    try {
      rb.consume(() => {});
    } catch (e) {
      err = e;
    }
    assert(err instanceof BpfError, `expected a BpfError, got ${err}`);
    assertMatch(err.message, "ring buffer 'small' is closed");
  },
);

bpfTest("A ring closed from inside its own callback stops at that event", async () => {
  using obj = await loaded();
  const rb = obj.ringbuf<FillEvent>("small", { type: "fill_event" });
  fill(obj, 20, 5);
  let seen = 0;
  const n = rb.consume(() => {
    if (++seen === 3) rb.close();
  });
  assertEquals([n, seen, rb.closed], [3, 3, true]);
});

bpfTest("An abort signal ends a for await over a ring", async () => {
  using obj = await loaded();
  const rb = obj.ringbuf("small");
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  let n = 0;
  for await (const _ of rb.events({ signal: ac.signal })) n++;
  assertEquals(n, 0);
  assert(!rb.closed, "the abort closed the ring");
});

bpfTest("RingBuffer refuses a map that is not a ring buffer, naming it", async () => {
  using obj = await loaded();
  const err = assertThrows(
    () => new RingBuffer(obj.map("output")),
    BpfError,
    "map 'output' is a perf_event_array map, not a ringbuf",
  );
  assertMatch(err.hint ?? "", "perfbuf");
});

bpfTest("Two rings from two objects are read at once without starving each other", async () => {
  using a = await loaded();
  using b = await loaded();
  const busy = a.ringbuf<FillEvent>("small", { type: "fill_event" });
  const quiet = b.ringbuf<FillEvent>("small", { type: "fill_event" });
  let quietTag: number | undefined;
  let busyCount = 0;
  // The busy loop never finds its ring empty (it refills it), so it never waits on epoll:
  // without fair turns the quiet ring's wake-up would only be seen once it gives up (5 s).
  const deadline = performance.now() + 5000;
  const busyLoop = (async () => {
    fill(a, 100, 1);
    for await (const _ of busy) {
      const until = performance.now() + 0.02;
      while (performance.now() < until) { /* work per event */ }
      busyCount++;
      if (quietTag !== undefined || performance.now() > deadline) break;
      if (busy.pending === 0) fill(a, 100, 1);
    }
  })();
  const quietLoop = (async () => {
    for await (const ev of quiet) {
      quietTag = Number(ev.tag);
      break;
    }
  })();
  await new Promise((r) => setTimeout(r, 20));
  fill(b, 1, 42);
  await Promise.all([busyLoop, quietLoop]);
  assertEquals(quietTag, 42);
  assert(performance.now() < deadline, "the quiet ring was starved by the busy one");
  assert(busyCount > 0, "the busy ring delivered nothing");
});

bpfTest("Ring buffers leave no fds or mappings behind", async () => {
  const before = streamResources();
  {
    await using obj = await loaded();
    for (let i = 0; i < 3; i++) {
      await using rb = obj.ringbuf("small");
      fill(obj, 5, i);
      await rb.poll(100, () => {});
      await closeWhileWaiting(rb, 10); // a loop still waiting when the ring closes
    }
  }
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(streamResources(), before);
});

bpfTest(
  "A for await over a reader made for the loop leaves no fds or mappings behind",
  async () => {
    await using obj = await loaded();
    // The README's idiom, run many times: each loop makes a reader and leaves it by break.
    const warm = async () => {
      fill(obj, 1, 0);
      for await (const _ of obj.ringbuf("small")) break;
    };
    await warm();
    const before = streamResources();
    let seen = 0;
    for (let i = 0; i < 200; i++) {
      fill(obj, 2, i);
      for await (const ev of obj.ringbuf<FillEvent>("small", { type: "fill_event" })) {
        assertEquals(Number(ev.tag), i);
        seen++;
        break;
      }
    }
    assertEquals(seen, 200);
    assertEquals(streamResources(), before);
    // A reader kept in a variable reads on after its loop released what it held.
    const rb = obj.ringbuf<FillEvent>("small", { type: "fill_event" });
    fill(obj, 1, 6);
    for await (const _ of rb) break;
    assert(!rb.holding && !rb.closed, "the loop did not release the ring, or closed it");
    fill(obj, 3, 7);
    assertEquals(rb.consume(() => {}) >= 3, true);
    assert(rb.holding, "consume() did not map the ring again");
  },
);

bpfTest(
  "RingBuffer decodes u64 fields as numbers when asked, and refuses a bad u64 option",
  async () => {
    using obj = await loaded();
    const rb = obj.ringbuf<{ seq: number; tag: number }>("small", {
      type: "fill_event",
      u64: "number",
    });
    fill(obj, 3, 8);
    const got: [number, number][] = [];
    rb.consume((ev) => got.push([ev.seq, ev.tag]));
    assertEquals(got, [[0, 8], [1, 8], [2, 8]]);
    let err: unknown;
    try {
      obj.ringbuf("small", { type: "fill_event", u64: "float" as "number" });
    } catch (e) {
      err = e;
    }
    assert(err instanceof BpfError, `expected a BpfError, got ${err}`);
    assertMatch(err.message, 'u64 must be "bigint" or "number"');
  },
);
