/**
 * Opening a script's BPF object and its event ring, the same way in every script.
 *
 * @module
 */

import { BpfObject } from "../../mod.ts";
import { RingBuffer } from "../../bpf/ringbuf.ts";

/**
 * Open the `.bpf.c` beside a script (compiled on first use, then from the cache).
 *
 * @param scriptUrl The script's `import.meta.url`.
 * @param file The source's file name, e.g. `"execsnoop.bpf.c"`.
 * @returns The opened, not yet loaded object.
 * @example
 * ```ts
 * using obj = await openBeside(import.meta.url, "execsnoop.bpf.c");
 * ```
 */
export function openBeside(scriptUrl: string, file: string): Promise<BpfObject> {
  return BpfObject.open(decodeURIComponent(new URL(file, scriptUrl).pathname));
}

/** What `obj.ringbuf()` returns, where the object offers it. */
type RingbufOpener = <T>(name: string, opts: { type: string }) => RingBuffer<T>;

/**
 * The ring buffer map `name` of a loaded object, decoding events as the struct `type`;
 * it closes with the object.
 *
 * @param obj The loaded object.
 * @param name The `BPF_MAP_TYPE_RINGBUF` map.
 * @param type The event struct's name.
 * @returns The reader.
 * @example
 * ```ts
 * const rb = ringbufOf<Event>(obj, "events", "event");
 * for await (const ev of rb.events({ signal })) console.log(ev.pid);
 * ```
 */
export function ringbufOf<T>(obj: BpfObject, name: string, type: string): RingBuffer<T> {
  const opener = (obj as unknown as { ringbuf?: RingbufOpener }).ringbuf;
  if (typeof opener === "function") return opener.call(obj, name, { type }) as RingBuffer<T>;
  return obj.adopt(new RingBuffer<T>(obj.map(name), { type }));
}
