/**
 * BTF for the direct back end's maps, built in this process (never loaded into the
 * kernel): the key and value types the C back end declares for the same map
 * (probe/emit.ts `mapDecl`: `char[N]` strings, `__u64`/`__s64` integers, a key struct
 * for several keys or a histogram's bucket, `struct bt_minmax`/`struct bt_avg`), so that a
 * map's `BpfMap` decodes its keys and values the same whichever back end built it.
 *
 * @module
 */

import { Btf } from "../../bpf/btf/btf.ts";
import { BtfBuilder } from "../../bpf/btf/builder.ts";
import { cIdent } from "../emit.ts";
import type { MapSpec } from "../spec.ts";
import type { Ty } from "../types.ts";

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
  const ull = b.int("unsigned long long", 8);
  const ll = b.int("long long", 8, { signed: true });
  const u64 = b.typedef("__u64", ull);
  const s64 = b.typedef("__s64", ll);
  const u32 = b.typedef("__u32", b.int("unsigned int", 4));
  const char = b.int("char", 1, { signed: true });
  const strings = new Map<number, number>();
  const str = (n: number) => {
    let id = strings.get(n);
    if (id === undefined) strings.set(n, id = b.array(char, n, u32));
    return id;
  };
  const field = (t: Ty, size: number) =>
    t.k === "str" ? str(size) : t.k === "int" && t.signed ? s64 : u64;
  const pair = (name: string, a: string, b2: string) =>
    b.struct(name, 16, [
      { name: a, type: s64, bitOffset: 0 },
      { name: b2, type: u64, bitOffset: 64 },
    ]);
  let minmax: number | undefined;
  let avg: number | undefined;
  const keyOf = (m: MapSpec) => {
    const bucketed = m.bucketOffset !== undefined;
    if (m.mapType === "percpu_array") return u32;
    if (m.keys.length === 0 && !bucketed) return u64;
    if (m.keys.length === 1 && !bucketed) return field(m.keys[0].ty, m.keys[0].size);
    const members = m.keys.map((k) => ({
      name: cIdent(k.name),
      type: field(k.ty, k.size),
      bitOffset: k.offset * 8,
    }));
    if (bucketed) members.push({ name: "bucket", type: u64, bitOffset: m.bucketOffset! * 8 });
    return b.struct(`${m.bpfName}_key`, m.keySize, members);
  };
  const valueOf = (m: MapSpec) => {
    switch (m.kind) {
      case "value":
        return field(m.value, m.valueSize);
      case "sum":
        return m.signed ? s64 : u64;
      case "min":
      case "max":
        return minmax ??= pair("bt_minmax", "value", "set");
      case "avg":
      case "stats":
        return avg ??= pair("bt_avg", "total", "count");
      default: // count, hist, lhist
        return u64;
    }
  };
  const ids = new Map<string, MapTypeIds>();
  for (const m of maps) ids.set(m.bpfName, { key: keyOf(m), value: valueOf(m) });
  return { btf: Btf.parse(b.build()), ids };
}
