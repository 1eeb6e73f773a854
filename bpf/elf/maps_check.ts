/**
 * Checks of the BTF-defined maps of `.maps` for what libbpf 1.1.2 acts on without a check:
 * a map declared there as `BPF_MAP_TYPE_STRUCT_OPS` has none of the struct_ops state that
 * only the `.struct_ops` section sets up, and libbpf dereferences that state at load.
 *
 * @module
 */

import type { BtfData } from "../btf/raw.ts";
import { BTF_KIND } from "../btf/types.ts";
import { refuse } from "./corrupt.ts";

/** `BPF_MAP_TYPE_STRUCT_OPS`. */
const MAP_TYPE_STRUCT_OPS = 26;

/** The id behind typedefs and qualifiers (the BTF was checked for loops first). */
function skipModifiers(btf: BtfData, id: number): number {
  for (;;) {
    const k = btf.kindNo(id);
    if (
      k !== BTF_KIND.TYPEDEF && k !== BTF_KIND.VOLATILE && k !== BTF_KIND.CONST &&
      k !== BTF_KIND.RESTRICT && k !== BTF_KIND.TYPE_TAG
    ) {
      return id;
    }
    const t = btf.decode(id) as { type: number };
    id = t.type;
  }
}

/**
 * The integer a map definition's member encodes, as libbpf reads `__uint(name, N)`: a
 * pointer to an array of N elements.
 */
function encodedInt(btf: BtfData, member: number): number | undefined {
  const ptr = btf.decode(skipModifiers(btf, member));
  if (ptr.kind !== "ptr") return undefined;
  const arr = btf.decode(ptr.type);
  return arr.kind === "array" ? arr.nelems : undefined;
}

/**
 * Check every map definition of the `.maps` DATASEC (and their inner maps).
 *
 * @param btf The object's checked BTF.
 * @param datasecs The ids of its DATASEC types.
 * @param op The operation, for errors.
 * @throws {BpfError} EILSEQ naming the map.
 * @example
 * ```ts
 * checkMapDefs(btf, [datasecId], "open 'x.bpf.o'");
 * ```
 */
export function checkMapDefs(btf: BtfData, datasecs: number[], op: string): void {
  for (const id of datasecs) {
    const sec = btf.decode(id);
    if (sec.kind !== "datasec" || sec.name !== ".maps") continue;
    for (const v of sec.vars) {
      const variable = btf.decode(v.type);
      if (variable.kind !== "var") continue;
      checkDef(btf, variable.type, variable.name, op, 0);
    }
  }
}

/** One definition struct; `values` of a map-in-map holds the inner definition. */
function checkDef(btf: BtfData, typeId: number, name: string, op: string, depth: number): void {
  const def = btf.decode(skipModifiers(btf, typeId));
  if (def.kind !== "struct") return; // libbpf refuses it with its own error
  for (const m of def.members) {
    if (m.name === "type" && encodedInt(btf, m.type) === MAP_TYPE_STRUCT_OPS) {
      refuse(op, ".BTF", `map '${name}' is declared struct_ops in .maps (only .struct_ops can)`);
    }
    if (m.name === "values" && depth === 0) {
      // __array(values, struct inner): an array of pointers to the inner definition.
      const arr = btf.decode(skipModifiers(btf, m.type));
      if (arr.kind !== "array") continue;
      const ptr = btf.decode(skipModifiers(btf, arr.type));
      if (ptr.kind === "ptr") checkDef(btf, ptr.type, `${name}.inner`, op, 1);
    }
  }
}
