/**
 * A struct key must name every field. The codec writes a missing field as 0 (C's zero
 * initialisation), which is right for values and globals but wrong for keys: a lookup
 * with `{ pid: 1 }` for a key of `{ pid, tid }` would look up tid 0 and quietly miss.
 *
 * @module
 */

import type { Btf } from "../btf/btf.ts";

/** How deep nested struct keys are followed (the BTF was checked for loops). */
const MAX_DEPTH = 16;

/**
 * The first field a struct (or union) key leaves out.
 *
 * Anonymous members are flattened, as the codec reads them; a union needs one member; a
 * nested struct is checked in turn; arrays and strings are taken as given (a shorter
 * string is the C string it spells).
 *
 * @param btf The map's BTF.
 * @param typeId The key's type id.
 * @param key The key the caller gave.
 * @returns The missing field's path (e.g. `"tid"`, `"addr.port"`), or undefined.
 * @example
 * ```ts
 * missingKeyField(btf, keyTypeId, { pid: 1 }); // "tid"
 * ```
 */
export function missingKeyField(btf: Btf, typeId: number, key: unknown): string | undefined {
  return missing(btf, typeId, key, "", 0);
}

function missing(
  btf: Btf,
  typeId: number,
  value: unknown,
  path: string,
  depth: number,
): string | undefined {
  if (depth > MAX_DEPTH || value === null || typeof value !== "object") return undefined;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return undefined;
  const t = btf.typeById(btf.resolve(typeId));
  if (t.kind !== "struct" && t.kind !== "union") return undefined;
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  let present = 0;
  for (const m of t.members) {
    if (m.name === "") {
      // Anonymous member: its fields sit in the same object.
      const inner = missing(btf, m.type, value, path, depth + 1);
      if (inner === undefined) present++;
      else problems.push(inner);
      continue;
    }
    const field = path ? `${path}.${m.name}` : m.name;
    if (obj[m.name] === undefined) {
      problems.push(field);
      continue;
    }
    present++;
    const inner = missing(btf, m.type, obj[m.name], field, depth + 1);
    if (inner !== undefined) problems.push(inner);
  }
  // A union is complete with any one member; a struct needs them all.
  if (t.kind === "union") return present > 0 ? undefined : problems[0];
  return problems[0];
}
