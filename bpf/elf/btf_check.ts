/**
 * Checks of an untrusted `.BTF` blob for what libbpf 1.1.2 assumes without checking: every
 * referenced type id exists, every name offset is a string, a FUNC points at a FUNC_PROTO,
 * a DATASEC lists variables, integer and enum sizes are real sizes, members lie inside
 * their struct, and no chain of types loops back on itself. libbpf dereferences a missing
 * type (SIGSEGV), divides by a bitfield's type size, and follows typedef chains and nested
 * arrays without a bound (a hang, or a stack overflow), so a blob that breaks any of these
 * never reaches it.
 *
 * The rules are those the kernel's BTF verifier applies too, so no object clang built
 * and the kernel would accept is refused.
 *
 * This runs on every open, mostly before V8 has compiled it: the loops are flat passes
 * over typed arrays, and the words behind an error are only looked at again to explain it.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { BtfData } from "../btf/raw.ts";
import { BTF_KIND, type BtfType, KIND_NAMES } from "../btf/types.ts";
import { reason, refuse } from "./corrupt.ts";

/** Throw the error of a refused blob. */
function corrupt(op: string, message: string): never {
  refuse(op, ".BTF", message);
}

/** Kind classes, as bits of a table indexed by kind. */
const MODIFIER = 1; // typedef, volatile, const, restrict, type_tag: libbpf skips them
const REFERENCE = 2; // one `type` (array: its element), no struct or proto to break a loop
const SIZED = 4; // the record states its size
const CLASS = new Uint8Array(32);
for (const k of [BTF_KIND.TYPEDEF, BTF_KIND.VOLATILE, BTF_KIND.CONST, BTF_KIND.RESTRICT]) {
  CLASS[k] = MODIFIER | REFERENCE;
}
CLASS[BTF_KIND.TYPE_TAG] = MODIFIER | REFERENCE;
for (const k of [BTF_KIND.PTR, BTF_KIND.VAR, BTF_KIND.FUNC, BTF_KIND.DECL_TAG, BTF_KIND.ARRAY]) {
  CLASS[k] = REFERENCE;
}
for (
  const k of [
    BTF_KIND.INT,
    BTF_KIND.STRUCT,
    BTF_KIND.UNION,
    BTF_KIND.ENUM,
    BTF_KIND.ENUM64,
    BTF_KIND.FLOAT,
    BTF_KIND.DATASEC,
  ]
) {
  CLASS[k] = SIZED;
}

/** Say which field of a record the fast pass found out of range, and throw. */
function explain(op: string, data: BtfData, id: number): never {
  let t: BtfType;
  try {
    t = data.decode(id); // names are looked up here: a bad one throws
  } catch (e) {
    if (e instanceof BpfError) corrupt(op, `type [${id}]: ${reason(e)}`);
    throw e;
  }
  const refs: [number, string][] = [];
  if (t.kind === "struct" || t.kind === "union") {
    t.members.forEach((m, i) => refs.push([m.type, `member ${i}`]));
  } else if (t.kind === "func_proto") {
    refs.push([t.type, "return type"]);
    t.params.forEach((m, i) => refs.push([m.type, `parameter ${i}`]));
  } else if (t.kind === "datasec") {
    t.vars.forEach((v, i) => refs.push([v.type, `variable ${i}`]));
  } else if (t.kind === "array") {
    refs.push([t.type, "array element"], [t.indexType, "array index"]);
  } else if ("type" in t) {
    refs.push([t.type, t.kind]);
  }
  for (const [target, what] of refs) {
    if (target >= data.count) {
      corrupt(
        op,
        `type [${id}]: ${what} refers to type [${target}], the last is [${data.count - 1}]`,
      );
    }
  }
  corrupt(op, `type [${id}] is malformed`);
}

/**
 * Check a BTF blob of an object file and index it.
 *
 * @param blob The `.BTF` section's bytes.
 * @param op The operation, for errors (e.g. `"open 'x.bpf.o'"`).
 * @returns The indexed blob.
 * @throws {BpfError} EILSEQ naming the first broken type.
 * @example
 * ```ts
 * const btf = checkBtf(elfSection(bytes, ".BTF")!, "open 'x.bpf.o'");
 * btf.count; // types, void included
 * ```
 */
export function checkBtf(blob: Uint8Array, op = "check BTF"): BtfData {
  let data: BtfData;
  try {
    data = new BtfData(blob);
  } catch (e) {
    if (e instanceof BpfError) corrupt(op, reason(e));
    throw e;
  }
  const { words, offsets, count } = data;
  const strLen = data.header.strLen;
  // Out-edges of each type, flat: edges[edgeStart[id]] .. edges[edgeStart[id + 1]].
  const edgeStart = new Uint32Array(count + 1);
  const edges = new Uint32Array(words.length);
  const kinds = new Uint8Array(count);
  let n = 0;

  for (let id = 1; id < count; id++) {
    edgeStart[id] = n;
    const p = offsets[id - 1];
    const info = words[p + 1];
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const sizeOrType = words[p + 2];
    kinds[id] = kind;
    // `bad` collects out-of-range names and references; explain() says which.
    let bad = words[p] >= strLen && words[p] !== 0;
    switch (kind) {
      case BTF_KIND.INT: {
        // Its bits, from a bit offset (the old bitfield encoding), fit its bytes.
        const bits = words[p + 3] & 0xff;
        const shift = (words[p + 3] >>> 16) & 0xff;
        const s = sizeOrType;
        if ((s !== 1 && s !== 2 && s !== 4 && s !== 8 && s !== 16) || shift + bits > s * 8) {
          corrupt(op, `type [${id}]: int of ${s} bytes and ${bits} bits at bit ${shift}`);
        }
        break;
      }
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64: {
        const s = sizeOrType;
        if (s !== 1 && s !== 2 && s !== 4 && s !== 8) {
          corrupt(op, `type [${id}]: enum of ${s} bytes`);
        }
        const step = kind === BTF_KIND.ENUM ? 2 : 3;
        for (let i = 0, q = p + 3; i < vlen; i++, q += step) {
          if (words[q] >= strLen && words[q] !== 0) bad = true;
        }
        break;
      }
      case BTF_KIND.FWD:
      case BTF_KIND.FLOAT:
        break;
      case BTF_KIND.FUNC:
        if (vlen > 2) corrupt(op, `type [${id}]: func linkage ${vlen}`);
        edges[n++] = sizeOrType;
        bad ||= sizeOrType >= count;
        break;
      case BTF_KIND.PTR:
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
      case BTF_KIND.VAR:
      case BTF_KIND.DECL_TAG:
        edges[n++] = sizeOrType;
        bad ||= sizeOrType >= count;
        break;
      case BTF_KIND.ARRAY:
        edges[n++] = words[p + 3];
        edges[n++] = words[p + 4];
        bad ||= words[p + 3] >= count || words[p + 4] >= count;
        break;
      case BTF_KIND.FUNC_PROTO:
        edges[n++] = sizeOrType;
        bad ||= sizeOrType >= count;
      // falls through: its params (name, type) are read as members (name, type, offset) are
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION: {
        const stride = kind === BTF_KIND.FUNC_PROTO ? 2 : 3;
        for (let i = 0, q = p + 3; i < vlen; i++, q += stride) {
          const t = words[q + 1];
          edges[n++] = t;
          if (t >= count || (words[q] >= strLen && words[q] !== 0)) bad = true;
        }
        break;
      }
      case BTF_KIND.DATASEC:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          edges[n++] = words[q];
          if (words[q] >= count) bad = true;
        }
        break;
      default:
        corrupt(op, `type [${id}] has unknown kind ${kind}`);
    }
    if (bad) explain(op, data, id);
  }
  edgeStart[count] = n;

  const graph = { kinds, edgeStart, edges };
  checkTargets(op, data, graph);
  findLoop(op, count, graph);
  checkLayouts(op, data, graph);
  return data;
}

/**
 * The types as a graph: each one's kind, and its out-edges, flat (those of `id` are
 * `edges[edgeStart[id]]` .. `edges[edgeStart[id + 1]]`).
 */
interface TypeGraph {
  kinds: Uint8Array;
  edgeStart: Uint32Array;
  edges: Uint32Array;
}

/** What each kind may point at, where libbpf reads the target as that kind. */
function checkTargets(op: string, data: BtfData, graph: TypeGraph): void {
  const { kinds, edgeStart, edges } = graph;
  const { words, offsets, count } = data;
  for (let id = 1; id < count; id++) {
    const kind = kinds[id];
    if (kind !== BTF_KIND.FUNC && kind !== BTF_KIND.DATASEC && kind !== BTF_KIND.DECL_TAG) {
      continue;
    }
    const first = edges[edgeStart[id]];
    if (kind === BTF_KIND.FUNC && kinds[first] !== BTF_KIND.FUNC_PROTO) {
      corrupt(op, `type [${id}]: func refers to a ${KIND_NAMES[kinds[first]]}, not a func_proto`);
    }
    if (kind === BTF_KIND.DATASEC) {
      for (let e = edgeStart[id]; e < edgeStart[id + 1]; e++) {
        const k = kinds[edges[e]];
        if (edges[e] === 0 || (k !== BTF_KIND.VAR && k !== BTF_KIND.FUNC)) {
          corrupt(op, `type [${id}]: datasec entry [${edges[e]}] is not a variable`);
        }
      }
    }
    if (kind === BTF_KIND.DECL_TAG) {
      // component_idx: -1 tags the type itself, else a member or a parameter.
      const component = words[offsets[id - 1] + 3] | 0;
      let components = -1;
      if (first !== 0) {
        const target = kinds[first];
        if (target === BTF_KIND.STRUCT || target === BTF_KIND.UNION) {
          components = words[offsets[first - 1] + 1] & 0xffff;
        } else if (target === BTF_KIND.FUNC) {
          const proto = edges[edgeStart[first]];
          if (kinds[proto] === BTF_KIND.FUNC_PROTO) {
            components = words[offsets[proto - 1] + 1] & 0xffff;
          }
        }
      }
      if (first === 0 || component < -1 || (component >= 0 && component >= components)) {
        corrupt(op, `type [${id}]: decl_tag component ${component} does not exist`);
      }
    }
  }
}

/**
 * Refuse type graphs that loop without a pointer into a struct, union or function on the
 * way (a struct containing itself, a typedef of itself, a pointer to itself): libbpf and
 * bpfsh's own BTF code follow such chains until the stack or the process runs out.
 *
 * Pass 1 peels, Kahn-style, every type no other type points at by value (all edges but
 * those out of a pointer): what cannot be peeled sits on a loop. Pass 2 follows the one
 * `type` of reference kinds (pointers included): a chain of them that comes back to where
 * it started has no struct, union or proto to end it.
 */
function findLoop(op: string, count: number, graph: TypeGraph): void {
  const { kinds, edgeStart, edges } = graph;
  const indegree = new Uint32Array(count);
  for (let id = 1; id < count; id++) {
    if (kinds[id] === BTF_KIND.PTR) continue;
    for (let e = edgeStart[id]; e < edgeStart[id + 1]; e++) indegree[edges[e]]++;
  }
  const queue = new Uint32Array(count);
  let head = 0, tail = 0;
  for (let id = 1; id < count; id++) if (indegree[id] === 0) queue[tail++] = id;
  while (head < tail) {
    const id = queue[head++];
    if (kinds[id] === BTF_KIND.PTR) continue;
    for (let e = edgeStart[id]; e < edgeStart[id + 1]; e++) {
      const t = edges[e];
      if (t !== 0 && --indegree[t] === 0) queue[tail++] = t;
    }
  }
  if (tail < count - 1) {
    let id = 1;
    while (indegree[id] === 0) id++;
    corrupt(op, `type [${id}] contains itself (it is part of a loop of types)`);
  }

  // 0 unseen, else the walk that reached it first; done walks are below `walk`.
  const seenBy = new Uint32Array(count);
  for (let start = 1, walk = 1; start < count; start++, walk++) {
    let t = start;
    while (t !== 0 && seenBy[t] === 0 && CLASS[kinds[t]] & REFERENCE) {
      seenBy[t] = walk;
      t = edges[edgeStart[t]];
    }
    if (t !== 0 && seenBy[t] === walk) {
      corrupt(op, `type [${t}] contains itself (a loop of pointers and typedefs)`);
    }
  }
}

/**
 * Sizes fit: struct and union members lie inside their type, a bitfield is an int or enum
 * (libbpf's CO-RE arithmetic divides by its size), an array's bytes fit 32 bits, and a
 * DATASEC gives each variable at least its type's size. libbpf and bpfsh's codecs read
 * members at these offsets without checking them again. The loop check ran first, so
 * every chain followed here ends.
 */
function checkLayouts(op: string, data: BtfData, graph: TypeGraph): void {
  const { kinds, edgeStart, edges } = graph;
  const { words, offsets, count } = data;
  // Byte size of each type once known; -1 without one (void, fwd, functions), -2 unknown.
  const sizes = new Float64Array(count).fill(-2);
  sizes[0] = -1;
  const sizeOf = (id: number): number => {
    let mult = 1;
    let t = id;
    while (sizes[t] === -2) {
      const k = kinds[t];
      const p = offsets[t - 1];
      if (k === BTF_KIND.ARRAY) {
        mult *= words[p + 5];
        t = words[p + 3];
      } else if (k === BTF_KIND.PTR) {
        sizes[t] = 8;
      } else if (CLASS[k] & SIZED) {
        sizes[t] = words[p + 2];
      } else if (CLASS[k] & MODIFIER || k === BTF_KIND.VAR) {
        t = edges[edgeStart[t]];
      } else {
        sizes[t] = -1;
      }
    }
    const size = sizes[t];
    const total = size < 0 ? -1 : size * mult;
    if (total > 0xffffffff) corrupt(op, `type [${id}] is ${total} bytes`);
    sizes[id] = total;
    return total;
  };

  for (let id = 1; id < count; id++) {
    const kind = kinds[id];
    const p = offsets[id - 1];
    if (kind === BTF_KIND.ARRAY) {
      sizeOf(id);
    } else if (kind === BTF_KIND.STRUCT || kind === BTF_KIND.UNION) {
      const info = words[p + 1];
      const kflag = info >>> 31 === 1;
      const bits = words[p + 2] * 8;
      for (let i = 0, q = p + 3; i < (info & 0xffff); i++, q += 3) {
        const member = words[q + 1];
        const off = kflag ? words[q + 2] & 0xffffff : words[q + 2];
        const bitSize = kflag ? words[q + 2] >>> 24 : 0;
        if (bitSize) {
          let t = member;
          while (CLASS[kinds[t]] & MODIFIER) t = edges[edgeStart[t]];
          const k = kinds[t];
          if (k !== BTF_KIND.INT && k !== BTF_KIND.ENUM && k !== BTF_KIND.ENUM64) {
            corrupt(op, `type [${id}]: bitfield member ${i} is a ${KIND_NAMES[k]}`);
          }
          if (off + bitSize > bits) corrupt(op, `type [${id}]: member ${i} lies past its end`);
          continue;
        }
        const size = sizes[member] === -2 ? sizeOf(member) : sizes[member];
        if (size < 0) corrupt(op, `type [${id}]: member ${i} has a type without a size`);
        if (off % 8 || off + size * 8 > bits) {
          corrupt(op, `type [${id}]: member ${i} (bit ${off}, ${size} bytes) lies past its end`);
        }
      }
    } else if (kind === BTF_KIND.DATASEC) {
      for (let i = 0, q = p + 3; i < (words[p + 1] & 0xffff); i++, q += 3) {
        if (kinds[words[q]] !== BTF_KIND.VAR) continue;
        if (sizeOf(words[q]) > words[q + 2]) {
          corrupt(op, `type [${id}]: variable ${i} is larger than its ${words[q + 2]} bytes`);
        }
      }
    }
  }
}
