/**
 * Running a probe program on the existing core: compile its C through bpf/build (cached),
 * open and load it as a {@link BpfObject}, run `BEGIN`, attach every program, and read the
 * event ring (printf, time, print, clear, zero, exit) in TypeScript. Stopping detaches,
 * runs `END`, and leaves the maps readable until {@link ProbeProgram.close}.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import type { BpfObject } from "../bpf/object/object.ts";
import { type BpfMap, possibleCpus } from "../bpf/map/map.ts";
import type { RingBuffer } from "../bpf/events/ringbuf.ts";
import type { ProbeObject } from "./loaded.ts";
import type { DirectStart } from "./direct/start.ts";
import { DirectObject } from "./direct/object.ts";
import type { Prepared } from "./prepare.ts";
import { ProbeError, type SourceText } from "./diagnostic.ts";
import { verifierError } from "./verifier_error.ts";
import { formatPrintf } from "./format/printf.ts";
import { formatMap } from "./format/text.ts";
import { formatMapJson, jsonEvent, jsonString } from "./format/json.ts";
import { strftime } from "./format/strftime.ts";
import { type ParsedFormat, parseFormat } from "./format/printf.ts";
import { decodeStored, type MapSnapshot, readMap } from "./read.ts";
import { EVENT, EVENTS_MAP, HEADER_SIZE, LOST_MAP, type MapSpec, type ProbeSpec } from "./spec.ts";
import type { PrintContext } from "./types.ts";
import { STACKS_EXTRA } from "./stack_kinds.ts";
import type { ProbeStacks } from "./stack_text.ts";
// The C back end's object model, compile cache and stack names are imported on first use:
// they stay out of the graph a direct program's reader loads after its probes attach.
import { importLater } from "./bundle.ts";

/** Options of {@link ProbeProgram.start}. */
export interface ProbeOptions {
  /** Positional parameters `$1`, `$2`, … */
  params?: string[];
  /** The name errors give the program (`stdin` by default). */
  name?: string;
  /** `text` (bpftrace's) or `json` (bpftrace's `-f json` lines) for printed output. */
  format?: "text" | "json";
  /**
   * Where printed output goes as it happens (printf, time(), print()). Without it, output
   * is kept for {@link ProbeProgram.lines}.
   */
  onOutput?: (text: string) => void;
  /** The compile cache directory. */
  cacheDir?: string;
  /** Called when the program calls exit(). */
  onExit?: () => void;
  /** Called with the probe count just before BEGIN runs (bpftrace prints "Attaching"). */
  onAttaching?: (probes: number) => void;
  /**
   * The program compiled already (from ./prepare.ts), or being compiled: a caller that
   * starts the compile first can load the rest of bpfsh while clang runs (bpfsh's own
   * launcher does).
   *
   * @ignore
   */
  prepared?: Prepared | Promise<Prepared>;
}

/**
 * A map of a running program, with what a reader needs to label, decode and reduce it:
 * the {@link MapSpec} (name, keys with their names and types, kind, lhist bounds, value
 * type and layout), its `BpfMap`, and `read()`, the reduced and sorted entries.
 */
export interface MapDescriptor extends MapSpec {
  /** The BPF map. */
  map: BpfMap;
  /** The entries now: keys decoded, per-CPU values reduced, sorted as bpftrace sorts. */
  read(): MapSnapshot;
}

/** A decoded record of the event ring. */
interface RingEvent {
  kind: number;
  id: number;
  text?: string;
  arg0?: bigint;
  arg1?: bigint;
}

/**
 * A running probe program.
 *
 * @example
 * ```ts
 * await using p = await probe`tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }`;
 * await new Deno.Command("/bin/true").output();
 * await p.stop();
 * console.log(p.print()); // @[true]: 3 …
 * ```
 */
export class ProbeProgram<O extends ProbeObject = BpfObject> implements AsyncDisposable {
  /** The compiled program. */
  readonly spec: ProbeSpec;
  /**
   * The loaded object: a `BpfObject` from {@link ProbeProgram.start} (the C back end), the
   * direct back end's maps and programs from {@link ProbeProgram.adopt}.
   */
  readonly object: O;
  /** The maps by their names in the program (`@`, `@name`). */
  readonly maps: Record<string, BpfMap>;
  /** One descriptor per map, in the order the program defines them. */
  readonly descriptors: MapDescriptor[];
  /** Resolves when the program calls exit(). */
  readonly exited: Promise<void>;
  /** Printed output since start, when no `onOutput` was given. */
  #queue: string[] = [];
  #wake?: () => void;
  #links: { close(): void }[] = [];
  #ring: RingBuffer<RingEvent>;
  #format: "text" | "json";
  #onOutput?: (text: string) => void;
  #onExit?: () => void;
  #exit!: () => void;
  #finalizing = false;
  #stopped = false;
  #closed = false;
  #loop?: Promise<void>;
  #ctx: PrintContext;
  #printfs: ParsedFormat[];
  #cpus = possibleCpus();
  #lostSeen = 0n;
  #stacks?: ProbeStacks;

  private constructor(spec: ProbeSpec, object: O, opts: ProbeOptions, stacks?: ProbeStacks) {
    this.spec = spec;
    this.object = object;
    this.#format = opts.format ?? "text";
    this.#onOutput = opts.onOutput;
    this.#onExit = opts.onExit;
    this.exited = new Promise((r) => (this.#exit = r));
    this.#stacks = stacks;
    this.#ctx = {
      probeNames: spec.probeNames,
      extras: { funcNames: spec.funcNames, [STACKS_EXTRA]: this.#stacks },
    };
    this.#printfs = spec.printfs.map((p) => parseFormat(p.format));
    this.maps = {};
    this.descriptors = spec.maps.map((m) => {
      const map = object.map(m.bpfName);
      this.maps[m.name] = map;
      return { ...m, map, read: () => readMap(m, map, this.#ctx, this.#cpus) };
    });
    this.#ring = object.ringbuf<RingEvent>(EVENTS_MAP, { type: this.#codec() });
  }

  /**
   * Compile, load, start: run `BEGIN`, then attach every probe.
   *
   * @param text The program.
   * @param opts Parameters, output handling, cache directory.
   * @returns The running program.
   * @throws {ProbeError} For errors in the program (with line:column and a caret), and
   *   for verifier rejections (naming the probe, with the log).
   * @example
   * ```ts
   * // From mod.ts, startProbe() calls this.
   * const p = await startProbe('BEGIN { printf("hi\\n"); exit(); }');
   * await p.exited;
   * await p.close();
   * ```
   */
  static async start(text: string, opts: ProbeOptions = {}): Promise<ProbeProgram<BpfObject>> {
    try {
      possibleCpus(); // libbpf's first use is slow: paid here, while clang may still run
    } catch {
      // No libbpf: the load below says so, after any error in the program itself.
    }
    const [{ BpfObject }, { prepare }, { ProbeStacks }] = await Promise.all([
      importLater<typeof import("../bpf/object/object.ts")>("bpf/object/object.ts"),
      importLater<typeof import("./prepare.ts")>("probe/prepare.ts"),
      importLater<typeof import("./stack_text.ts")>("probe/stack_text.ts"),
    ]);
    const { spec, objectPath } = await (opts.prepared ??
      prepare(text, { params: opts.params, name: opts.name, cacheDir: opts.cacheDir }));
    const src: SourceText = { name: opts.name ?? "stdin", text };
    const obj = BpfObject.openSync(objectPath, { name: "probe", cacheDir: opts.cacheDir });
    let p: ProbeProgram<BpfObject> | undefined;
    try {
      try {
        obj.load();
      } catch (e) {
        throw verifierError(e, spec, src);
      }
      p = new ProbeProgram(spec, obj, opts, new ProbeStacks(obj, spec.stackPids ?? false));
      opts.onAttaching?.(spec.probeCount);
      p.#stacks?.start();
      p.#begin();
      p.#attach(obj, src);
      p.#loop = p.#run();
      return p;
    } catch (e) {
      if (p) p.#stacks?.close();
      obj.close();
      throw e;
    }
  }

  /**
   * Run a program the direct back end has loaded, begun and attached already
   * (probe/direct/start.ts): read its ring and maps from here on.
   *
   * @param started What startDirect() returned.
   * @param opts Output handling (the compile options are not used).
   * @returns The running program.
   * @example
   * ```ts
   * const started = await startDirect('BEGIN { printf("hi\\n"); exit(); }');
   * await using p = ProbeProgram.adopt(started!);
   * await p.exited;
   * ```
   * @ignore
   */
  static adopt(started: DirectStart, opts: ProbeOptions = {}): ProbeProgram<DirectObject> {
    const object = new DirectObject(started.load);
    try {
      const p = new ProbeProgram(started.spec, object, opts);
      p.#links.push({ close: () => started.load.detach() });
      p.#loop = p.#run();
      return p;
    } catch (e) {
      object.close();
      throw e;
    }
  }

  /** Run the elapsed clock's init and the BEGIN probes. */
  #begin(): void {
    if (this.spec.init) this.object.program(this.spec.init).testRun({ ctx: new Uint8Array(8) });
    for (const prog of this.spec.programs) {
      if (prog.provider === "BEGIN") {
        this.object.program(prog.name).testRun({ ctx: new Uint8Array(8) });
      }
    }
  }

  #attach(object: BpfObject, src: SourceText): void {
    try {
      if (this.spec.stackPids) {
        // stack_pids.bpf.h's notifications of exec and new code, attached by section.
        for (const name of ["stack_pids_exec", "stack_pids_mmap"]) {
          this.#links.push(object.program(name).attach());
        }
      }
      for (const prog of this.spec.programs) {
        if (prog.provider === "BEGIN" || prog.provider === "END") continue;
        const program = object.program(prog.name);
        for (const a of prog.attach) {
          const target = prog.provider === "kfunc" || prog.provider === "kretfunc"
            ? undefined
            : a.text;
          this.#links.push(program.attach(target, {
            retprobe: a.retprobe,
            cookie: prog.cookie ? BigInt(a.target) : undefined,
            cpu: a.cpu,
          }));
        }
      }
    } catch (e) {
      for (const l of this.#links) l.close();
      this.#links = [];
      if (e instanceof BpfError && /fentry|fexit|EPERM|not permitted/i.test(e.message)) {
        throw new ProbeError(src, undefined, `cannot attach: ${e.message.split("\n")[0]}`, e.hint);
      }
      throw e;
    }
  }

  /** How many probes are attached (bpftrace's "Attaching N probes..."). */
  get probeCount(): number {
    return this.spec.probeCount;
  }

  /** Whether stop() was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  async #run(): Promise<void> {
    let lastLost = performance.now();
    while (!this.#closed && !this.#ring.closed) {
      try {
        await this.#ring.poll(250, (ev) => this.#handle(ev));
      } catch (e) {
        // Closed under us (the shell's `unload` closes the object): the loop just ends.
        if (this.#closed || this.#ring.closed || this.object.closed) return;
        throw e;
      }
      const now = performance.now();
      if (now - lastLost > 1000) {
        lastLost = now;
        this.#reportLost();
      }
      if (this.#stopped) return;
    }
  }

  #handle(ev: RingEvent): void {
    if (this.#finalizing) return;
    switch (ev.kind) {
      case EVENT.printf:
        this.#emit(this.#format === "json" ? this.#printfJson(ev) + "\n" : ev.text!);
        return;
      case EVENT.time: {
        const text = strftime(this.spec.times[ev.id] ?? "%H:%M:%S\n", new Date());
        this.#emit(this.#format === "json" ? jsonEvent("time", jsonString(text)) + "\n" : text);
        return;
      }
      case EVENT.print: {
        const d = this.descriptors[ev.id];
        if (d) this.#emit(this.#mapText(d, Number(ev.arg0 ?? 0n), Number(ev.arg1 ?? 0n)));
        return;
      }
      case EVENT.clear: {
        const d = this.descriptors[ev.id];
        if (d) d.mapType === "percpu_array" ? zeroMap(d) : d.map.clear();
        return;
      }
      case EVENT.zero: {
        const d = this.descriptors[ev.id];
        if (d) zeroMap(d);
        return;
      }
      case EVENT.exit:
        this.#finalizing = true;
        this.#exit();
        this.#onExit?.();
        return;
    }
  }

  /** A printf record as bpftrace's JSON: a `printf` line, or a `value` for print(value). */
  #printfJson(ev: RingEvent): string {
    const p = this.spec.printfs[ev.id];
    if (!p?.value) return jsonEvent("printf", jsonString(ev.text!));
    const text = ev.text!.slice(0, -1);
    return jsonEvent("value", p.args[0].ty.k === "int" ? text : jsonString(text));
  }

  #mapText(d: MapDescriptor, top = 0, div = 0): string {
    const snap = d.read();
    if (this.#format === "json") {
      const line = formatMapJson(snap, { top, div });
      return line ? line + "\n" : "";
    }
    return formatMap(snap, { top, div });
  }

  #emit(text: string): void {
    if (!text) return;
    if (this.#onOutput) {
      this.#onOutput(text);
      return;
    }
    this.#queue.push(text);
    this.#wake?.();
  }

  #reportLost(): void {
    if (this.object.closed) return;
    let lost = 0n;
    try {
      const bytes = this.object.map(LOST_MAP).getBytes(new Uint8Array(4));
      const view = bytes && new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; view && at + 8 <= view.byteLength; at += 8) {
        lost += view.getBigUint64(at, true);
      }
    } catch {
      return;
    }
    if (lost > this.#lostSeen) {
      const n = lost - this.#lostSeen;
      this.#lostSeen = lost;
      this.#emit(
        this.#format === "json"
          ? jsonEvent("lost_events", `{"events": ${n}}`) + "\n"
          : `Lost ${n} events\n`,
      );
    }
  }

  /**
   * The printed output (printf, time, print) as lines, as it comes; ends once the program
   * has called exit() or been stopped, and everything printed before is read.
   *
   * @yields Each line, without its newline.
   * @example
   * ```ts
   * await using p = await probe`BEGIN { printf("a\\nb\\n"); exit(); }`;
   * for await (const line of p.lines()) console.log(line); // "a", then "b"
   * ```
   */
  async *lines(): AsyncGenerator<string> {
    let partial = "";
    for (;;) {
      while (this.#queue.length) {
        partial += this.#queue.shift()!;
        let nl: number;
        while ((nl = partial.indexOf("\n")) >= 0) {
          yield partial.slice(0, nl);
          partial = partial.slice(nl + 1);
        }
      }
      if ((this.#stopped || this.#finalizing) && !this.#queue.length) {
        if (partial) yield partial;
        return;
      }
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = undefined;
    }
  }

  /**
   * Stop: detach every probe, print what the ring still holds, run `END`. The maps stay
   * readable until close(). Idempotent.
   *
   * @example
   * ```ts
   * await using p = await probe`interval:ms:10 { @ticks = count(); }`;
   * await new Promise((r) => setTimeout(r, 50));
   * await p.stop(); // detached: @ticks counts no more
   * console.log(p.print()); // @ticks: 5
   * ```
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    for (const l of this.#links) l.close();
    this.#links = [];
    this.#stacks?.stop();
    this.#ring.consume((ev) => this.#handle(ev));
    this.#finalizing = false;
    for (const prog of this.spec.programs) {
      if (prog.provider === "END") {
        this.object.program(prog.name).testRun({ ctx: new Uint8Array(8) });
      }
    }
    this.#ring.consume((ev) => {
      if (ev.kind !== EVENT.exit) this.#handle(ev);
    });
    this.#reportLost();
    this.#stopped = true;
    this.#wake?.();
    this.#ring.close();
    await this.#loop?.catch(() => {});
  }

  /**
   * Every map as bpftrace prints it at exit: sorted by name, each in its own format.
   *
   * @returns The text (bpftrace prints two newlines before it).
   * @example
   * ```ts
   * await using p = await probe`BEGIN { @x[1] = 2; @h = hist(5); exit(); }`;
   * await p.exited;
   * console.log(p.print()); // "@h: \n[4, 8)   1 |@@@…|\n\n@x[1]: 2\n"
   * ```
   */
  print(): string {
    return this.#sorted().map((d) => formatMap(d.read())).join("");
  }

  /**
   * Every non-empty map as bpftrace's `-f json` lines.
   *
   * @returns One JSON text per map.
   * @example
   * ```ts
   * await using p = await probe`BEGIN { @x[1] = 2; exit(); }`;
   * await p.exited;
   * console.log(p.printJson()); // ['{"type": "map", "data": {"@x": {"1": 2}}}']
   * ```
   */
  printJson(): string[] {
    return this.#sorted().map((d) => formatMapJson(d.read())).filter((l): l is string => !!l);
  }

  #sorted(): MapDescriptor[] {
    return [...this.descriptors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Stop (if needed) and free everything: links, programs, maps.
   *
   * @example
   * ```ts
   * const p = await probe`tracepoint:syscalls:sys_enter_openat { @opens = count(); }`;
   * await p.close(); // detached, END run, programs and maps freed
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.stop();
    } finally {
      this.#closed = true;
      this.#stacks?.close();
      this.object.close();
    }
  }

  /** Same as close(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The printf lines, as {@link ProbeProgram.lines}: `for await (const line of p)`. */
  [Symbol.asyncIterator](): AsyncGenerator<string> {
    return this.lines();
  }

  /** The ring's decoder: each record to a {@link RingEvent}, printf text formatted. */
  #codec() {
    const spec = this.spec;
    const printfs = this.#printfs;
    const ctx = this.#ctx;
    const bind = (bytes: Uint8Array) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return (offset: number): RingEvent => {
        const kind = view.getUint32(offset, true);
        const id = view.getUint32(offset + 4, true);
        if (kind === EVENT.printf) {
          const p = spec.printfs[id];
          const values = p.args.map((a) => {
            if (a.ty.k === "str") return decodeStored(a.ty, view, offset + a.offset, ctx).text;
            if (a.ty.k === "special") return decodeStored(a.ty, view, offset + a.offset, ctx).text;
            return a.ty.k === "int" && a.ty.signed
              ? view.getBigInt64(offset + a.offset, true)
              : view.getBigUint64(offset + a.offset, true);
          });
          return { kind, id, text: formatPrintf(printfs[id], values) };
        }
        return {
          kind,
          id,
          arg0: view.getBigUint64(offset + HEADER_SIZE, true),
          arg1: view.getBigUint64(offset + HEADER_SIZE + 8, true),
        };
      };
    };
    return {
      size: HEADER_SIZE,
      typeName: "probe event",
      decode: (bytes: Uint8Array, offset = 0) => bind(bytes)(offset),
      bind,
    };
  }
}

/** Set every value of a map to zero (bpftrace's zero(), and clear() of a map without keys). */
function zeroMap(d: MapDescriptor): void {
  const stride = d.perCpu ? (d.valueSize + 7) & ~7 : d.valueSize;
  const zero = new Uint8Array(d.perCpu ? stride * possibleCpus() : stride);
  for (const b of [...d.map.rawBatches()]) {
    for (let i = 0; i < b.count; i++) {
      d.map.set(b.keys.slice(i * d.keySize, (i + 1) * d.keySize), zero, "exist");
    }
  }
}
