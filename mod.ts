/**
 * bpfsh: load BPF objects from Deno through libbpf, with typed maps, globals, attach,
 * test runs, tail calls, event streams and BTF tools.
 *
 * This module re-exports `core.ts`: loaded from the sources, or from their pre-built bundle
 * under `bpfsh` when it is up to date (`core_bundle.ts` says when; the same code, found
 * faster).
 *
 * @example
 * ```ts
 * import { BpfObject } from "./mod.ts";
 *
 * using obj = await BpfObject.open("scripts/execsnoop.bpf.c");
 * obj.load();
 * obj.attachAll();
 * for (const [uid, n] of obj.map("counts").entries()) console.log(uid, n);
 * ```
 *
 * @module
 */

// Only types come from core.ts here: a static import would make Deno load the ~35 source
// modules even when the bundle is used.
import type * as Core from "./core.ts";
import { coreModule } from "./core_bundle.ts";

const core: typeof Core = await import(coreModule());

export type {
  AttachOptions,
  BtfFieldInfo,
  BtfType,
  Codec,
  CompileInput,
  CompileOptions,
  CompileResult,
  DatasecVar,
  EventCodec,
  Feature,
  FeatureReport,
  GlobalVar,
  IterateOptions,
  OpenOptions,
  PerfBufferOptions,
  PerfEvent,
  PerfStats,
  RawBatch,
  RawCallback,
  RingBufferOptions,
  StreamStats,
  TestRunOptions,
  TestRunResult,
  TraceLine,
  TracePipeOptions,
  UpdateFlag,
} from "./core.ts";

// Classes: the value (constructor) and the instance type under one name, as a class has.
/** The error every bpfsh failure throws (see ffi/errors.ts). */
export const BpfError: typeof Core.BpfError = core.BpfError;
/** A BpfError. */
export type BpfError = Core.BpfError;
/** A BPF object: its programs, maps and globals (see bpf/object.ts). */
export const BpfObject: typeof Core.BpfObject = core.BpfObject;
/** A BpfObject. */
export type BpfObject = Core.BpfObject;
/** One program of a BpfObject (see bpf/program.ts). */
export const Program: typeof Core.Program = core.Program;
/** A Program. */
export type Program = Core.Program;
/** Typed access to a BPF map (see bpf/map.ts). */
export const BpfMap: typeof Core.BpfMap = core.BpfMap;
/** A BpfMap. */
export type BpfMap<K = unknown, V = unknown> = Core.BpfMap<K, V>;
/** An attachment of a program; closing it detaches (see bpf/link.ts). */
export const Link: typeof Core.Link = core.Link;
/** A Link. */
export type Link = Core.Link;
/** A prog_array map for tail calls (see bpf/progarray.ts). */
export const ProgArray: typeof Core.ProgArray = core.ProgArray;
/** A ProgArray. */
export type ProgArray = Core.ProgArray;
/** BTF: parse, look up, format, and codecs (see bpf/btf/btf.ts). */
export const Btf: typeof Core.Btf = core.Btf;
/** A Btf. */
export type Btf = Core.Btf;
/** A reader of a BPF ring buffer map (see bpf/ringbuf.ts). */
export const RingBuffer: typeof Core.RingBuffer = core.RingBuffer;
/** A RingBuffer. */
// deno-lint-ignore no-explicit-any
export type RingBuffer<T = any> = Core.RingBuffer<T>;
/** A reader of a perf event array map (see bpf/perfbuf.ts). */
export const PerfBuffer: typeof Core.PerfBuffer = core.PerfBuffer;
/** A PerfBuffer. */
// deno-lint-ignore no-explicit-any
export type PerfBuffer<T = any> = Core.PerfBuffer<T>;
/** The kernel's trace pipe, line by line (see bpf/tracepipe.ts). */
export const TracePipe: typeof Core.TracePipe = core.TracePipe;
/** A TracePipe. */
export type TracePipe = Core.TracePipe;

/** See bpf/map.ts. */
export const possibleCpus: typeof Core.possibleCpus = core.possibleCpus;
/** See bpf/attach_target.ts. */
export const planAttach: typeof Core.planAttach = core.planAttach;
/** See bpf/lifetime.ts. */
export const closeAll: typeof Core.closeAll = core.closeAll;
/** See bpf/mounts.ts. */
export const ensureBpffs: typeof Core.ensureBpffs = core.ensureBpffs;
/** See bpf/mounts.ts. */
export const ensureTracefs: typeof Core.ensureTracefs = core.ensureTracefs;
/** See ffi/libbpf.ts. */
export const libbpfVersion: typeof Core.libbpfVersion = core.libbpfVersion;
/** See bpf/compile.ts. */
export const compile: typeof Core.compile = core.compile;
/** See bpf/vmlinux.ts. */
export const vmlinuxHeaderDir: typeof Core.vmlinuxHeaderDir = core.vmlinuxHeaderDir;
/** See bpf/features.ts. */
export const feature: typeof Core.feature = core.feature;
/** See bpf/features.ts. */
export const features: typeof Core.features = core.features;
/** See bpf/tracepipe.ts. */
export const parseTraceLine: typeof Core.parseTraceLine = core.parseTraceLine;
/** See bpf/tracepipe.ts. */
export const tracePipe: typeof Core.tracePipe = core.tracePipe;
