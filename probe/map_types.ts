/**
 * The types a probe program's maps hold: what the C back end declares in `__type(key, …)`
 * and `__type(value, …)` (probe/emit.ts), and what the direct back end describes in BTF
 * for the same maps (probe/direct/map_btf.ts). One description, so that a `BpfMap`
 * decodes alike whichever back end built it.
 *
 * @module
 */

import type { MapSpec } from "./spec.ts";
import {
  AVG_TYPE,
  cIdent,
  MINMAX_TYPE,
  S64,
  type StoredType,
  storedType,
  U32,
  U64,
} from "./stored_types.ts";

/**
 * A map's key type: `__u32` 0 for a per-CPU array, `__u64` 0 for a map without keys, the
 * key's own type for one key, else a struct of the keys (and a histogram's bucket).
 *
 * @param m The map.
 * @returns The type.
 * @example
 * ```ts
 * mapKeyType(spec.maps[0]); // { k: "struct", name: "at_by_key", … }
 * ```
 */
export function mapKeyType(m: MapSpec): StoredType {
  const bucketed = m.bucketOffset !== undefined;
  if (m.mapType === "percpu_array") return U32;
  if (m.keys.length === 0 && !bucketed) return U64;
  if (m.keys.length === 1 && !bucketed) return storedType(m.keys[0].ty, m.keys[0].size);
  const members = m.keys.map((k) => ({
    name: cIdent(k.name),
    type: storedType(k.ty, k.size),
    offset: k.offset,
  }));
  if (bucketed) members.push({ name: "bucket", type: U64, offset: m.bucketOffset! });
  return { k: "struct", name: `${m.bpfName}_key`, size: m.keySize, members };
}

/**
 * A map's value type (one CPU's, for the aggregations).
 *
 * @param m The map.
 * @returns The type.
 * @example
 * ```ts
 * mapValueType(spec.maps[0]); // __u64 for a count()
 * ```
 */
export function mapValueType(m: MapSpec): StoredType {
  switch (m.kind) {
    case "value":
      return storedType(m.value, m.valueSize);
    case "sum":
      return m.signed ? S64 : U64;
    case "min":
    case "max":
      return MINMAX_TYPE;
    case "avg":
    case "stats":
      return AVG_TYPE;
    default: // count, hist, lhist
      return U64;
  }
}
