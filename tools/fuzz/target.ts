/**
 * The fuzz child: opens, reads and (as root, with `--load`) loads a range of mutated
 * objects, one line per input on stdout. It runs in its own process so a crash ends only
 * this child, and the driver sees which input it was working on (the `B` line without its
 * `E` line).
 *
 * Usage: `deno run -A tools/fuzz/target.ts RUN_SEED FROM COUNT [--load]`
 *
 * Lines: `B <index>` before an input; `E <index> <outcome> <detail>` after it, where outcome
 * is `loaded`, `opened` (load refused with a BpfError), `refused` (open refused with a
 * BpfError) or `raw` (anything that is not a BpfError: a bug).
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { BpfObject } from "../../bpf/object/object.ts";
import { loadSeeds, makeInput } from "./mutate.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const enc = new TextEncoder();
/** Inputs whose maps would take more kernel memory than this are not loaded. */
const MAP_BYTES_LIMIT = 64 << 20;

function emit(line: string): void {
  const bytes = enc.encode(line + "\n");
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

/**
 * Touch everything a user can read from an opened (or loaded) object. A BpfError from one
 * read is a fine answer and the reads go on; anything else is thrown.
 */
function readAll(obj: BpfObject): void {
  const read = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof BpfError)) throw e;
    }
  };
  for (const p of obj.programs) {
    read(() => [p.name, p.section, p.type, p.attachType, p.instructions]);
  }
  read(() => {
    const btf = obj.btf;
    if (!btf) return;
    for (let id = 1; id < Math.min(btf.count, 400); id++) read(() => btf.nameOf(id));
    for (const sec of btf.datasecs()) read(() => btf.datasec(sec));
  });
  for (const m of obj.maps) {
    read(() => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]);
    read(() => m.keyType);
    read(() => m.valueType);
  }
  read(() => {
    for (const g of obj.globalsInfo()) read(() => obj.globals[g.name]);
  });
}

/** What happened to one input. */
function runOne(bytes: Uint8Array, load: boolean): [string, string] {
  let obj: BpfObject | undefined;
  let stage = "open";
  try {
    obj = BpfObject.fromBytes(bytes, { name: "fuzz" });
    stage = "read";
    readAll(obj);
    if (!load) return ["opened", "-"];
    // A mutated max_entries can ask the kernel for gigabytes: not on a shared machine.
    if (obj.maps.some((m) => m.maxEntries * (m.keySize + m.valueSize + 64) > MAP_BYTES_LIMIT)) {
      return ["opened", "skipped-load:large-maps"];
    }
    stage = "load";
    obj.load();
    stage = "read-loaded";
    readAll(obj);
    for (const m of obj.maps.slice(0, 4)) {
      try {
        if (m.type !== "ringbuf") m.count();
      } catch (e) {
        if (!(e instanceof BpfError)) throw e;
      }
    }
    return ["loaded", "-"];
  } catch (e) {
    if (e instanceof BpfError) {
      return [stage === "open" ? "refused" : "opened", `${stage}:${e.code}`];
    }
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return ["raw", `${stage}:${what.split("\n")[0].replace(/\s+/g, " ").slice(0, 200)}`];
  } finally {
    try {
      obj?.close();
    } catch (e) {
      emit(`W close failed: ${e}`);
    }
  }
}

if (import.meta.main) {
  const [runSeed, from, count] = Deno.args.slice(0, 3).map(Number);
  const load = Deno.args.includes("--load");
  const seeds = loadSeeds(ROOT);
  for (let i = from; i < from + count; i++) {
    const input = makeInput(seeds, runSeed, i);
    emit(`B ${i} ${input.strategy} ${input.seed.name}`);
    const [outcome, detail] = runOne(input.bytes, load);
    emit(`E ${i} ${outcome} ${detail}`);
  }
}
