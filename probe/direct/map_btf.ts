/**
 * BTF for the direct back end's maps, built in this process (never loaded into the
 * kernel): the key and value types the C back end declares for the same map (both from
 * probe/map_types.ts), so that a map's `BpfMap` decodes its keys and values the same
 * whichever back end built it.
 *
 * @module
 */

import { Btf } from "../../bpf/btf/btf.ts";
import { BtfBuilder } from "../../bpf/btf/builder.ts";
import { mapKeyType, mapValueType } from "../map_types.ts";
import type { StoredType } from "../stored_types.ts";
import type { MapSpec } from "../spec.ts";

/** A map's key and value type ids in {@link MapTypes.btf}. */
export interface MapTypeIds {
  key: number;
  value: number;
}

/** The BTF of a program's maps, and each map's type ids in it. */
export interface MapTypes {
  btf: Btf;
  /** By the map's BPF name. */
  ids: Map<string, MapTypeIds>;
}

/**
 * The BTF of a probe program's maps.
 *
 * @param maps The program's maps (its spec's).
 * @returns The BTF and each map's key and value type ids.
 * @example
 * ```ts
 * const { btf, ids } = mapTypes(spec.maps);
 * btf.codec(ids.get("at_opens")!.key).decode(bytes, 0); // "one.txt"
 * ```
 */
export function mapTypes(maps: readonly MapSpec[]): MapTypes {
  const b = new BtfBuilder();
  const u32 = b.typedef("__u32", b.int("unsigned int", 4));
  const ints: Record<string, number> = {
    __u32: u32,
    __u64: b.typedef("__u64", b.int("unsigned long long", 8)),
    __s64: b.typedef("__s64", b.int("long long", 8, { signed: true })),
  };
  const char = b.int("char", 1, { signed: true });
  // One BTF type per distinct string size and struct name.
  const made = new Map<string, number>();
  const idOf = (t: StoredType): number => {
    if (t.k === "int") return ints[t.name];
    const key = t.k === "str" ? `char[${t.size}]` : `struct ${t.name}`;
    let id = made.get(key);
    if (id === undefined) {
      id = t.k === "str" ? b.array(char, t.size, u32) : b.struct(
        t.name,
        t.size,
        t.members.map((m) => ({ name: m.name, type: idOf(m.type), bitOffset: m.offset * 8 })),
      );
      made.set(key, id);
    }
    return id;
  };
  const ids = new Map<string, MapTypeIds>();
  for (const m of maps) {
    ids.set(m.bpfName, { key: idOf(mapKeyType(m)), value: idOf(mapValueType(m)) });
  }
  return { btf: Btf.parse(b.build()), ids };
}
