/**
 * bpfsh: load BPF objects from Deno through libbpf, with typed maps, globals, attach,
 * test runs, tail calls, event streams and BTF tools.
 *
 * Importing this module opens nothing and changes nothing in the process: libbpf is opened
 * by the first call that needs it, and signal handling stays the host's (see
 * {@link exitOnSignals} for scripts that want bpfsh's).
 *
 * @example Count execs per uid
 * ```ts
 * import { BpfObject } from "./mod.ts";
 *
 * using obj = await BpfObject.open("tests/fixtures/exec_count.bpf.c");
 * obj.load();
 * obj.attachAll();
 * await new Deno.Command("/bin/true").output();
 * for (const [uid, n] of obj.map("exec_counts").entries()) console.log(uid, n);
 * ```
 *
 * @module
 */

export { BpfError } from "./ffi/errors.ts";
export { BpfObject, type OpenOptions } from "./bpf/object/object.ts";
export { Program, type TestRunOptions, type TestRunResult } from "./bpf/object/program.ts";
export { BpfMap, possibleCpus, type RawBatch, type UpdateFlag } from "./bpf/map/map.ts";
export { Link } from "./bpf/link/link.ts";
export { ProgArray } from "./bpf/map/progarray.ts";
export type { GlobalVar } from "./bpf/object/globals.ts";
export {
  Btf,
  type BtfFieldInfo,
  type BtfType,
  type Codec,
  type CodecOptions,
  type DatasecVar,
} from "./bpf/btf/btf.ts";
export type {
  BtfArray,
  BtfBase,
  BtfComposite,
  BtfDatasec,
  BtfDeclTag,
  BtfEnum,
  BtfEnumValue,
  BtfFloat,
  BtfFunc,
  BtfFuncProto,
  BtfFwd,
  BtfInt,
  BtfKind,
  BtfMember,
  BtfParam,
  BtfPtr,
  BtfRef,
  BtfSecInfo,
  BtfVar,
  BtfVoid,
} from "./bpf/btf/types.ts";
export { type AttachOptions, type AttachPlan, planAttach } from "./bpf/link/target.ts";
export { listProbes } from "./bpf/link/listing.ts";
export { type UsdtProbe, usdtProbes } from "./bpf/elf/stapsdt.ts";
export { type Closeable, closeAll, exitOnSignals, type ExitSignal } from "./bpf/object/lifetime.ts";
export { ensureBpffs, ensureTracefs } from "./bpf/system/mounts.ts";
export { libbpfVersion } from "./ffi/libbpf.ts";
export {
  compile,
  type CompileInput,
  type CompileOptions,
  type CompileResult,
} from "./bpf/build/compile.ts";
export { vmlinuxHeaderDir } from "./bpf/build/vmlinux.ts";
export {
  type Feature,
  feature,
  type FeatureKind,
  type FeatureOptions,
  type FeatureReport,
  features,
  type MountState,
} from "./bpf/system/features.ts";
export { RingBuffer, type RingBufferOptions, type RingStats } from "./bpf/events/ringbuf.ts";
export {
  PerfBuffer,
  type PerfBufferOptions,
  type PerfEvent,
  type PerfStats,
  type PerfStreamMap,
} from "./bpf/events/perfbuf.ts";
export {
  parseTraceLine,
  type TraceLine,
  TracePipe,
  tracePipe,
  type TracePipeOptions,
} from "./bpf/events/tracepipe.ts";
export type {
  EventCodec,
  IterateOptions,
  RawCallback,
  StreamBtf,
  StreamMap,
  StreamOptions,
  StreamStats,
} from "./bpf/events/types.ts";
export { EventStream, type StreamOwner } from "./bpf/events/stream.ts";
export { DropReport, type DropStats } from "./bpf/events/drops.ts";
export {
  isKernelAddress,
  KERNEL_SPACE_START,
  type KernelSymbol,
  KernelSymbols,
  ksym,
} from "./bpf/stack/kallsyms.ts";
export {
  formatFrame,
  formatStack,
  type Frame,
  frameName,
  type FrameStyle,
} from "./bpf/stack/frame.ts";
export { type StackAddresses, Symbolizer, type SymbolizerOptions } from "./bpf/stack/symbolizer.ts";
export {
  BPF_F_USER_STACK,
  readStack,
  stackAddresses,
  stackIdProblem,
  stackMapEntries,
} from "./bpf/stack/capture.ts";
export { foldedLine, type StackSample, toFolded } from "./bpf/stack/folded.ts";
export {
  decodePprof,
  encodePprof,
  type PprofOptions,
  type PprofSample,
} from "./bpf/stack/pprof.ts";
export { type BinaryHit, type BinaryOptions, BinarySymbols } from "./bpf/stack/binary.ts";
export { type BinaryProvider, ProcessSymbols } from "./bpf/stack/process.ts";
export {
  findMapping,
  type Mapping as MemoryMapping,
  parseProcMaps,
} from "./bpf/stack/proc_maps.ts";
export { type EventStack, EventStacks } from "./bpf/stack/event_stacks.ts";
export { STACK_PID_SEEN, StackPidWatch } from "./bpf/stack/stack_pids.ts";
export { probe, type ProbeTag, startProbe, type StartProbeOptions } from "./probe/template.ts";
export type { MapDescriptor, ProbeOptions, ProbeProgram } from "./probe/runner.ts";
export type { ProbeObject } from "./probe/loaded.ts";
export type { ProbeBackend } from "./probe/direct/start.ts";
export { ProbeError } from "./probe/diagnostic.ts";
export type { KeySpec, MapSpec, ProbeSpec } from "./probe/spec.ts";
export type { KeyPart, MapEntry, MapSnapshot } from "./probe/read.ts";
export type { LhistBounds, MapKind, MapValue } from "./probe/aggregations.ts";
