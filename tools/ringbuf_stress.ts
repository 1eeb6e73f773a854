/**
 * The long ring buffer stress run (the suite runs a bounded one in
 * tests/ringbuf_stress_test.ts): a producer pinned to one CPU writes checksummed records
 * into an 8 MiB ring at a paced rate while the reader, pinned to another, checks each one.
 * Prints what it found; exits 1 on any corrupt, missing or dropped record.
 *
 * ```sh
 * deno run -A tools/ringbuf_stress.ts [--records 50000000] [--rate 2000000]
 * BPFSH_RINGBUF_LOADS=atomic deno run -A tools/ringbuf_stress.ts   # Atomics.load headers
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runStress } from "../tests/ringbuf_stress.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "50000000" },
    rate: { type: "string", default: "2000000" },
  },
});
const records = Number(values.records);
const rate = Number(values.rate);
console.log(`writing ${records} records at ${rate}/s (about ${Math.round(records / rate)} s)`);
const r = await runStress({ records, rate });
console.log(JSON.stringify(r, null, 2));
if (r.corrupt || r.missing || r.dropped || r.read !== records) Deno.exit(1);
