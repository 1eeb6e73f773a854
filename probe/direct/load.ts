/**
 * Loading and attaching the direct back end's programs with the bpf(2) system call
 * (ffi/bpf_syscall.ts): maps as the spec lays them out, programs with their map
 * references filled in, tracepoints and cpu-clock events through perf events and BPF
 * links, BEGIN/END by test runs. Every kernel object is an fd this process holds, so
 * nothing outlives it; {@link DirectLoad.close} closes them in order.
 *
 * This module stays small on purpose: it is what runs before the probes are attached,
 * and the rest of the runtime loads after.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import {
  bpfMapCreate,
  bpfPerfLink,
  bpfProgLoad,
  bpfProgTestRun,
  bpfRawTracepointOpen,
} from "../../ffi/bpf_syscall.ts";
import { libc, onlineCpus } from "../../ffi/libc.ts";
import { PERF_EVENTS, PERF_TYPE_TRACEPOINT, perfEventOpen } from "../../bpf/system/perf_event.ts";
import { EVENTS_MAP, LOST_MAP, type MapSpec, type ProbeSpec } from "../spec.ts";
import { tracefsRoot } from "../tracefs.ts";
import { DEFAULT_RING_SIZE } from "../emit.ts";
import { type DirectProgram, INTERNAL_MAP, INTERNAL_MAPS } from "./gen.ts";
import { Asm } from "./insn.ts";

/** `bpf_map_type` values of the maps the direct back end makes, by libbpf's names. */
const MAP_TYPE = { hash: 1, array: 2, percpu_hash: 5, percpu_array: 6, ringbuf: 27 } as const;

/**
 * libbpf's name of a map type the direct back end makes.
 *
 * @param typeId The `bpf_map_type`.
 * @returns E.g. `"ringbuf"`, or undefined for a type it does not make.
 * @example
 * ```ts
 * mapTypeName(27); // "ringbuf"
 * ```
 */
export function mapTypeName(typeId: number): string | undefined {
  return Object.entries(MAP_TYPE).find(([, id]) => id === typeId)?.[0];
}
/** `bpf_prog_type` values. */
const PROG_TYPE = { tracepoint: 5, perf_event: 7, raw_tracepoint: 17 } as const;

/** One map the direct back end made. */
export interface DirectMap {
  name: string;
  fd: number;
  typeId: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** The load of a probe program without an object file: its maps, programs and links. */
export class DirectLoad {
  readonly spec: ProbeSpec;
  /** The maps by BPF name (`bt_events`, `bt_lost`, `at_…`). */
  readonly maps: Map<string, DirectMap> = new Map();
  /** The program fds by name. */
  readonly programs: Map<string, number> = new Map();
  #links: number[] = [];
  #perfFds: number[] = [];
  #closed = false;

  private constructor(spec: ProbeSpec) {
    this.spec = spec;
  }

  /**
   * Make the maps and load the programs.
   *
   * @param spec The compiled program's spec.
   * @param programs The direct back end's programs for it.
   * @param ringSize The event ring's size.
   * @returns The loaded program, not attached yet.
   * @throws {BpfError} When a map cannot be made or the verifier rejects a program (the
   *   error names the program and carries the log).
   */
  static load(
    spec: ProbeSpec,
    programs: DirectProgram[],
    ringSize = DEFAULT_RING_SIZE,
  ): DirectLoad {
    const d = new DirectLoad(spec);
    try {
      const fds: number[] = [];
      const internal: Omit<DirectMap, "fd">[] = [
        {
          name: EVENTS_MAP,
          typeId: MAP_TYPE.ringbuf,
          keySize: 0,
          valueSize: 0,
          maxEntries: ringSize,
        },
        { name: LOST_MAP, typeId: MAP_TYPE.percpu_array, keySize: 4, valueSize: 8, maxEntries: 1 },
        {
          name: INTERNAL_MAPS[INTERNAL_MAP.bss],
          typeId: MAP_TYPE.array,
          keySize: 4,
          valueSize: 8,
          maxEntries: 1,
        },
      ];
      const used = new Set(programs.flatMap((p) => p.mapRefs.map((r) => r.map)));
      // The ring and the lost count are read by the runner: always made.
      internal.forEach((m, i) => {
        fds.push(i !== INTERNAL_MAP.bss || used.has(i) ? d.#makeMap(m) : -1);
      });
      for (const m of spec.maps) fds.push(d.#makeMap(mapShape(m)));
      for (const p of programs) d.#loadProgram(p, fds);
      return d;
    } catch (e) {
      d.close();
      throw e;
    }
  }

  #makeMap(m: Omit<DirectMap, "fd">): number {
    const fd = bpfMapCreate({ ...m, type: m.typeId });
    this.maps.set(m.name, { ...m, fd });
    return fd;
  }

  #loadProgram(p: DirectProgram, fds: number[]): void {
    const insns = p.insns.slice();
    for (const r of p.mapRefs) Asm.patchImm(insns, r.at, fds[r.map]);
    const fd = bpfProgLoad({ type: PROG_TYPE[p.type], name: p.name, insns, license: "GPL" });
    this.programs.set(p.name, fd);
  }

  /**
   * Run a raw_tp program once (BEGIN, END, the elapsed clock's init).
   *
   * @param name The program.
   */
  testRun(name: string): void {
    const fd = this.programs.get(name);
    if (fd === undefined) throw new BpfError({ op: "test run", message: `no program '${name}'` });
    bpfProgTestRun(fd, new Uint8Array(8), `test run '${name}'`);
  }

  /**
   * Attach every program of the spec to its targets.
   *
   * @throws {BpfError} When a target cannot be attached (what was attached is detached).
   */
  attach(): void {
    try {
      for (const prog of this.spec.programs) {
        if (prog.provider === "BEGIN" || prog.provider === "END") continue;
        const fd = this.programs.get(prog.name)!;
        for (const a of prog.attach) {
          const cookie = prog.cookie ? BigInt(a.target) : undefined;
          if (prog.provider === "tracepoint") {
            this.#perfLink(fd, tracepointEvent(a.text), 0, cookie, `attach ${a.text}`);
          } else if (prog.provider === "rawtracepoint") {
            this.#links.push(bpfRawTracepointOpen(a.text, fd));
          } else if (prog.provider === "interval" || prog.provider === "profile") {
            const clock = parseClock(a.text);
            const cpus = a.cpu !== undefined
              ? [a.cpu]
              : Array.from({ length: onlineCpus() }, (_, i) => i);
            for (const cpu of cpus) {
              const pfd = perfEventOpen(
                {
                  type: PERF_EVENTS["cpu-clock"][0],
                  config: PERF_EVENTS["cpu-clock"][1],
                  ...clock,
                },
                -1,
                cpu,
              );
              this.#linkPerf(fd, pfd, cookie, `attach ${a.text} on cpu ${cpu}`);
            }
          } else {
            throw new BpfError({ op: "attach", message: `${prog.provider} probes` });
          }
        }
      }
    } catch (e) {
      this.detach();
      throw e;
    }
  }

  #perfLink(prog: number, id: number, cpu: number, cookie: bigint | undefined, op: string) {
    const pfd = perfEventOpen(
      { type: PERF_TYPE_TRACEPOINT, config: id, period: 1, wakeupEvents: 1 },
      -1,
      cpu,
    );
    this.#linkPerf(prog, pfd, cookie, op);
  }

  #linkPerf(prog: number, pfd: number, cookie: bigint | undefined, op: string): void {
    this.#perfFds.push(pfd);
    this.#links.push(bpfPerfLink(prog, pfd, cookie ?? 0n, op));
  }

  /** How many probes are attached (one link each). */
  get linkCount(): number {
    return this.#links.length;
  }

  /** Detach every probe (the maps and programs stay). Idempotent. */
  detach(): void {
    for (const fd of this.#links) libc().close(fd);
    for (const fd of this.#perfFds) libc().close(fd);
    this.#links = [];
    this.#perfFds = [];
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Detach, then close every program and map. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.detach();
    for (const fd of this.programs.values()) libc().close(fd);
    for (const m of this.maps.values()) libc().close(m.fd);
    this.programs.clear();
    this.maps.clear();
  }
}

/** A spec map's kernel shape. */
function mapShape(m: MapSpec): Omit<DirectMap, "fd"> {
  return {
    name: m.bpfName,
    typeId: MAP_TYPE[m.mapType],
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.mapType === "percpu_array" ? 1 : m.maxEntries,
  };
}

/** A tracepoint's perf event id (`CAT/NAME`). */
function tracepointEvent(text: string): number {
  const path = `${tracefsRoot()}/events/${text}/id`;
  try {
    return Number(Deno.readTextFileSync(path).trim());
  } catch (e) {
    throw new BpfError({
      op: `attach tracepoint ${text}`,
      message: `cannot read ${path}: ${(e as Error).message}`,
    });
  }
}

/** `cpu-clock:99hz` or `cpu-clock:NANOSECONDS` as a perf event's rate. */
function parseClock(text: string): { frequency?: number; period?: number } {
  const m = /^cpu-clock:(\d+)(hz)?$/.exec(text);
  if (!m) throw new BpfError({ op: "attach", message: `unknown clock '${text}'` });
  return m[2] ? { frequency: Number(m[1]) } : { period: Number(m[1]) };
}
