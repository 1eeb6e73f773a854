/**
 * The direct back end's loaded program as the runner sees it ({@link ProbeObject}): its
 * fds wrapped as `BpfMap`s and a `RingBuffer`, made once the probes are attached.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { BpfMap, type MapOwner } from "../../bpf/map/map.ts";
import { RingBuffer, type RingBufferOptions } from "../../bpf/events/ringbuf.ts";
import type { ProbeObject } from "../loaded.ts";
import { type DirectLoad, mapTypeName } from "./load.ts";
import { type MapTypes, mapTypes } from "./map_btf.ts";

/**
 * A {@link DirectLoad} as a {@link ProbeObject}.
 *
 * @example
 * ```ts
 * const object = new DirectObject(DirectLoad.load(spec, generate(resolved, checked, spec)));
 * object.map("at_").type; // "percpu_array"
 * object.close();
 * ```
 */
export class DirectObject implements ProbeObject {
  /** The maps, programs and links. */
  readonly load: DirectLoad;
  #maps = new Map<string, BpfMap>();
  #readers: RingBuffer<unknown>[] = [];
  #owner: MapOwner;
  #types?: MapTypes;

  /** @param load The loaded program. */
  constructor(load: DirectLoad) {
    this.load = load;
    const types = () => this.#mapTypes();
    this.#owner = {
      object: this,
      // Typed like the C back end's maps: the same keys and values from the same BpfMap calls.
      get btf() {
        return types().btf;
      },
      assertOpen: (op: string) => {
        if (load.closed) throw new BpfError({ op, message: "the probe program was closed" });
      },
    };
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.load.closed;
  }

  /**
   * A map by its BPF name.
   *
   * @param name `at_…`, `bt_events` or `bt_lost`.
   * @returns The map (keys and values as bytes: the spec says how to read them).
   */
  map(name: string): BpfMap {
    let m = this.#maps.get(name);
    if (m) return m;
    const d = this.load.maps.get(name);
    if (!d) throw new BpfError({ op: "map", message: `no map '${name}' in the probe program` });
    const typesOf = () => this.#typesOf(name);
    const info = {
      name: d.name,
      typeId: d.typeId,
      keySize: d.keySize,
      valueSize: d.valueSize,
      maxEntries: d.maxEntries,
      flags: 0,
      // Read on the first typed access only: `bpfsh -e` reads its maps as bytes.
      get btfKeyTypeId() {
        return typesOf().key;
      },
      get btfValueTypeId() {
        return typesOf().value;
      },
      typeName: mapTypeName(d.typeId),
    };
    m = new BpfMap(this.#owner, info, () => (this.load.closed ? -1 : d.fd));
    this.#maps.set(name, m);
    return m;
  }

  /** A program map's type ids (none for the internal maps: the ring, the lost count). */
  #typesOf(name: string): { key: number; value: number } {
    return this.#mapTypes().ids.get(name) ?? { key: 0, value: 0 };
  }

  #mapTypes(): MapTypes {
    return this.#types ??= mapTypes(this.load.spec.maps);
  }

  /**
   * A reader of a ring buffer map, closed with this object.
   *
   * @param name The map.
   * @param opts The reader's options (its event type).
   * @returns The reader.
   */
  // deno-lint-ignore no-explicit-any
  ringbuf<T = any>(name: string, opts: RingBufferOptions = {}): RingBuffer<T> {
    const r = new RingBuffer<T>(this.map(name), opts);
    this.#readers.push(r as RingBuffer<unknown>);
    return r;
  }

  /**
   * A program, to test-run.
   *
   * @param name Its name.
   * @returns Its test run.
   */
  program(name: string): { testRun(): void } {
    return { testRun: () => this.load.testRun(name) };
  }

  /** Close the readers, then every link, program and map. Idempotent. */
  close(): void {
    for (const r of this.#readers) r.close();
    this.#readers = [];
    this.load.close();
  }
}
