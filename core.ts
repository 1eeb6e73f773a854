/**
 * The core library's public API, from its sources. Scripts import `mod.ts`, which loads this
 * module, or its pre-built bundle when that is up to date (see `core_bundle.ts`): the two
 * export the same names. Keep this list and mod.ts in step.
 *
 * @example
 * ```ts
 * import { BpfObject } from "./core.ts";
 *
 * using obj = await BpfObject.open("build/tests/minimal.bpf.o");
 * ```
 *
 * @module
 */

export { BpfError } from "./ffi/errors.ts";
export { BpfObject, type OpenOptions } from "./bpf/object.ts";
export { Program, type TestRunOptions, type TestRunResult } from "./bpf/program.ts";
export { BpfMap, possibleCpus, type RawBatch, type UpdateFlag } from "./bpf/map.ts";
export { Link } from "./bpf/link.ts";
export { ProgArray } from "./bpf/progarray.ts";
export type { GlobalVar } from "./bpf/globals.ts";
export {
  Btf,
  type BtfFieldInfo,
  type BtfType,
  type Codec,
  type DatasecVar,
} from "./bpf/btf/btf.ts";
export { type AttachOptions, planAttach } from "./bpf/attach_target.ts";
export { closeAll } from "./bpf/lifetime.ts";
export { ensureBpffs, ensureTracefs } from "./bpf/mounts.ts";
export { libbpfVersion } from "./ffi/libbpf.ts";
export {
  compile,
  type CompileInput,
  type CompileOptions,
  type CompileResult,
} from "./bpf/compile.ts";
export { vmlinuxHeaderDir } from "./bpf/vmlinux.ts";
export { type Feature, feature, type FeatureReport, features } from "./bpf/features.ts";
export { RingBuffer, type RingBufferOptions } from "./bpf/ringbuf.ts";
export {
  PerfBuffer,
  type PerfBufferOptions,
  type PerfEvent,
  type PerfStats,
} from "./bpf/perfbuf.ts";
export {
  parseTraceLine,
  type TraceLine,
  TracePipe,
  tracePipe,
  type TracePipeOptions,
} from "./bpf/tracepipe.ts";
export type { EventCodec, IterateOptions, RawCallback, StreamStats } from "./bpf/stream.ts";
