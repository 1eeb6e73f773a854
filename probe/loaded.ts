/**
 * What the runner needs of a loaded probe program, whichever back end built it: a
 * `BpfObject` (the C back end's object file) or the direct back end's maps and programs.
 *
 * @module
 */

import type { BpfMap } from "../bpf/map/map.ts";
import type { RingBuffer, RingBufferOptions } from "../bpf/events/ringbuf.ts";

/** A loaded probe program's maps, event ring and programs. */
export interface ProbeObject {
  /** Whether close() was called. */
  readonly closed: boolean;
  /** A map by its BPF name. */
  map(name: string): BpfMap;
  /** A reader of the ring buffer map `name`, closed with the object. */
  // deno-lint-ignore no-explicit-any
  ringbuf<T = any>(name: string, opts?: RingBufferOptions): RingBuffer<T>;
  /** A program by name, to test-run (BEGIN, END, the elapsed clock's init). */
  program(name: string): { testRun(opts?: { ctx?: Uint8Array }): unknown };
  /** Free every program and map. */
  close(): void;
}
