/**
 * The ring buffer reader against a producer on another CPU: millions of checksummed
 * records, paced so that the reader keeps up, must all arrive whole and in order. This
 * is what proves the plain header loads the reader uses on x86-64 (see
 * bpf/events/ringbuf.ts); tools/ringbuf_stress.ts runs the same for longer.
 */

import { assert, assertEquals } from "./assert.ts";
import { bpfTest } from "./helpers.ts";
import { type Checker, checkRecord, runStress } from "./ringbuf_stress.ts";

bpfTest("2,000,000 records from another CPU arrive whole and in order", async () => {
  if (navigator.hardwareConcurrency < 2) {
    console.log("one CPU: the producer runs on the reader's CPU");
  }
  const producerCpu = navigator.hardwareConcurrency < 2 ? 0 : 1;
  const r = await runStress({ records: 2_000_000, rate: 1_000_000, producerCpu });
  assertEquals(r.problems, []);
  assertEquals([r.corrupt, r.missing, r.dropped], [0, 0, 0]);
  assertEquals(r.read, 2_000_000);
  assert(r.discarded > 100_000, `only ${r.discarded} discarded records were skipped`);
});

Deno.test("The stress check tells a stale or torn record from a whole one", () => {
  // seq 5, 24 bytes: check word, then two payload words, as the producer writes them.
  const fold = (c: number, w: number) => Math.imul(c ^ w, 0x01000193) >>> 0;
  const rec = new Uint32Array([5, 0, 24, fold(fold(Math.imul(24, 0x27d4eb2d) >>> 0, 5), 0), 0, 0]);
  for (let j = 0; j < 2; j++) {
    rec[4 + j] = (Math.imul(5, 0x9e3779b1) + Math.imul(j, 0x85ebca6b)) >>> 0;
  }
  const st: Checker = { next: 5, read: 0, corrupt: 0, gaps: 0, problems: [] };
  checkRecord(rec, 0, 24, st);
  assertEquals([st.read, st.corrupt, st.gaps], [1, 0, 0]);
  rec[5] ^= 1; // a word from another lap
  checkRecord(rec, 0, 24, st);
  assertEquals(st.corrupt, 1);
  rec[5] ^= 1;
  checkRecord(rec, 0, 20, st); // a length that is not the record's
  assertEquals(st.corrupt, 2);
  st.next = 3; // two records never seen
  checkRecord(rec, 0, 24, st);
  assertEquals(st.gaps, 2);
});
