/**
 * What a compiled probe program is, beside its C: the maps with their key and value
 * layouts, the printf formats with their record layouts, the BPF programs and where each
 * attaches. The emit pass makes it, the runner uses it, and it is plain data (JSON-safe
 * apart from bigint-free numbers), so it can be cached beside the object.
 *
 * The {@link MapSpec}s are also the documented descriptors of a running program's maps
 * (`ProbeProgram.descriptors`): a reader outside bpfsh (Prometheus export, say) learns
 * from one how to label, decode and reduce a map.
 *
 * @module
 */

import type { LhistBounds, MapKind } from "./aggregations.ts";
import type { Provider } from "./context.ts";
import type { Ty } from "./types.ts";

/** One key of a map. */
export interface KeySpec {
  /** A label for it, from the key expression: `comm`, `pid`, `filename`, else `keyN`. */
  name: string;
  /** The key expression as written, e.g. `str(args->filename)`. */
  expr: string;
  /** Its type as bpftrace names it: `uint64`, `int64`, `string[16]`, `probe`. */
  type: string;
  /**
   * Its type, as the compiler represents it (`type` names it).
   *
   * @ignore
   */
  ty: Ty;
  /** Byte offset in the BPF key. */
  offset: number;
  /** Bytes it takes there. */
  size: number;
}

/** One map of a probe program: its layout and how to read it. */
export interface MapSpec {
  /** As the program names it: `@`, `@execs`. */
  name: string;
  /** The BPF map's name (`at_execs`): the `BpfMap` is found by it. */
  bpfName: string;
  /** What it holds: `value` (plain assignments) or an aggregation. */
  kind: MapKind;
  /**
   * The BPF map type: `hash` for values, `percpu_hash` for aggregations, and (as in
   * bpftrace) `percpu_array` for a `count()` without keys, which always has its one entry.
   */
  mapType: "hash" | "percpu_hash" | "percpu_array";
  /** Its keys, in order (empty for a map without keys). */
  keys: KeySpec[];
  /** Bytes of the BPF key (a map without keys: one `__u64` 0; a `percpu_array`: `__u32` 0). */
  keySize: number;
  /** hist/lhist: byte offset of the `__u64` bucket index in the key. */
  bucketOffset?: number;
  /**
   * The value's type as the compiler represents it: `value` maps what is stored; sum/min/max
   * the argument's (`valueType` names it).
   *
   * @ignore
   */
  value: Ty;
  /** `value` maps: the value type's name (`int64`, `string[64]`). */
  valueType: string;
  /** Bytes of one (per-CPU) value. */
  valueSize: number;
  /** Whether sum/min/max compare and add as signed. */
  signed: boolean;
  /** lhist bounds. */
  lhist?: LhistBounds;
  /** True for the aggregations: one value per CPU, reduced on read. */
  perCpu: boolean;
  /** The map's capacity. */
  maxEntries: number;
}

/** One value in an output record (a printf argument). */
export interface RecordField {
  ty: Ty;
  /** Byte offset in the record (after the 8-byte header). */
  offset: number;
}

/** One printf call (or print() of a value, which prints as a printf of it). */
export interface PrintfSpec {
  id: number;
  /** The format as written (escapes decoded). */
  format: string;
  /** A print() of a value: JSON output calls it a `value`, with the value as data. */
  value?: boolean;
  /** Its arguments' places in the record. */
  args: RecordField[];
  /** Record size, header included. */
  size: number;
}

/** One place a program attaches to. */
export interface AttachSpec {
  /** The target's id (what `probe` stores; the attach cookie when `cookie`). */
  target: number;
  /** The target text `Program.attach()` takes, e.g. `syscalls/sys_enter_openat`. */
  text: string;
  /** Uprobe return probe. */
  retprobe?: boolean;
  /** For interval: only this CPU. */
  cpu?: number;
}

/** One BPF program. */
export interface ProgramSpec {
  /** The C function (and libbpf program) name: `probe_0`. */
  name: string;
  provider: Provider;
  /** Where it attaches (BEGIN/END: nowhere, they run by a test run). */
  attach: AttachSpec[];
  /** Whether it reads its target from the attach cookie. */
  cookie: boolean;
  /** Where its probe block is in the program text. */
  span: { start: number; end: number };
}

/** A compiled probe program. */
export interface ProbeSpec {
  /** The generated BPF C. */
  c: string;
  /** Its maps, in the order the program names them. */
  maps: MapSpec[];
  /**
   * Its printf calls and their record layouts (the runner's; not for readers of maps).
   *
   * @ignore
   */
  printfs: PrintfSpec[];
  /** time() formats by id. */
  times: string[];
  /**
   * Its BPF programs and where each attaches (the runner's).
   *
   * @ignore
   */
  programs: ProgramSpec[];
  /** Target names by id (what `probe` prints). */
  probeNames: string[];
  /** Target functions by id (what `func` prints). */
  funcNames: string[];
  /** How many probes bpftrace would say it attaches ("Attaching N probes..."). */
  probeCount: number;
  /** A program to test-run first that records the start time for `elapsed`. */
  init?: string;
  /**
   * Whether the spec stays right while the kernel and its tracepoints do (no uprobes, no
   * wildcards but tracepoint ones).
   */
  cacheable: boolean;
  /**
   * Whether it takes user stacks: the object then has stack_pids.bpf.h's two programs
   * (attached by their sections) and ring, so processes are named after they exit.
   */
  stackPids?: boolean;
}

/** Record kinds in the event ring (the header's first u32). */
export const EVENT = {
  printf: 1,
  exit: 2,
  time: 3,
  print: 4,
  clear: 5,
  zero: 6,
} as const;

/** Bytes of a record header (`struct bt_hdr { __u32 kind; __u32 id; }`). */
export const HEADER_SIZE = 8;
/** The event ring's BPF map name. */
export const EVENTS_MAP = "bt_events";
/** The per-CPU count of records the ring had no room for. */
export const LOST_MAP = "bt_lost";
