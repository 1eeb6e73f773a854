/**
 * Checks of an untrusted `.BTF` blob for what libbpf 1.1.2 assumes without checking: every
 * referenced type id exists, every name offset is a string, a FUNC points at a FUNC_PROTO,
 * a DATASEC lists variables, integer and enum sizes are real sizes, and no chain of types
 * loops back on itself. libbpf dereferences a missing type (SIGSEGV), divides by an enum's
 * size, and follows typedef chains and nested arrays without a bound (a hang, or a stack
 * overflow), so a blob that breaks any of these never reaches it.
 *
 * The rules are those the kernel's BTF verifier applies too, so no object clang built
 * and the kernel would accept is refused.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";
import { BtfData } from "../btf/raw.ts";
import { reason, refuse } from "./corrupt.ts";
import { BTF_KIND, KIND_NAMES } from "../btf/types.ts";

/** Throw the error of a refused blob. */
function corrupt(op: string, message: string): never {
  refuse(op, ".BTF", message);
}

/** Kinds whose record is one reference (`type`) and nothing a cycle could pass through. */
const REFERENCE_KINDS = new Set<number>([
  BTF_KIND.PTR,
  BTF_KIND.TYPEDEF,
  BTF_KIND.VOLATILE,
  BTF_KIND.CONST,
  BTF_KIND.RESTRICT,
  BTF_KIND.TYPE_TAG,
  BTF_KIND.VAR,
  BTF_KIND.FUNC,
  BTF_KIND.DECL_TAG,
  BTF_KIND.ARRAY,
]);

/** Kinds libbpf skips to reach a member's real type (the loop check bounds the walk). */
const MODIFIER_KINDS = new Set<number>([
  BTF_KIND.TYPEDEF,
  BTF_KIND.VOLATILE,
  BTF_KIND.CONST,
  BTF_KIND.RESTRICT,
  BTF_KIND.TYPE_TAG,
]);

/** Kinds whose record states their size. */
const SIZED_KINDS = new Set<number>([
  BTF_KIND.INT,
  BTF_KIND.STRUCT,
  BTF_KIND.UNION,
  BTF_KIND.ENUM,
  BTF_KIND.ENUM64,
  BTF_KIND.FLOAT,
  BTF_KIND.DATASEC,
]);

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
  // Out-edges of each type, for the loop check (flat: edgeStart[id]..edgeStart[id + 1]).
  const edgeStart = new Uint32Array(count + 1);
  const edges: number[] = [];
  const kinds = new Uint8Array(count);

  const name = (off: number, id: number, what: string) => {
    if (off >= strLen && off !== 0) {
      corrupt(op, `type [${id}]: ${what} offset ${off} is past the string section (${strLen})`);
    }
  };
  const ref = (target: number, id: number, what: string) => {
    if (target >= count) {
      corrupt(op, `type [${id}]: ${what} refers to type [${target}], the last is [${count - 1}]`);
    }
    edges.push(target);
  };

  for (let id = 1; id < count; id++) {
    edgeStart[id] = edges.length;
    const p = offsets[id - 1];
    const info = words[p + 1];
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const sizeOrType = words[p + 2];
    kinds[id] = kind;
    name(words[p], id, "name");
    switch (kind) {
      case BTF_KIND.INT: {
        const bits = words[p + 3] & 0xff;
        if (![1, 2, 4, 8, 16].includes(sizeOrType) || bits > sizeOrType * 8) {
          corrupt(op, `type [${id}]: int of ${sizeOrType} bytes and ${bits} bits`);
        }
        break;
      }
      case BTF_KIND.ENUM:
      case BTF_KIND.ENUM64:
        if (![1, 2, 4, 8].includes(sizeOrType)) {
          corrupt(op, `type [${id}]: enum of ${sizeOrType} bytes`);
        }
        for (let i = 0, q = p + 3; i < vlen; i++, q += kind === BTF_KIND.ENUM ? 2 : 3) {
          name(words[q], id, `enumerator ${i} name`);
        }
        break;
      case BTF_KIND.FWD:
      case BTF_KIND.FLOAT:
        break;
      case BTF_KIND.PTR:
      case BTF_KIND.TYPEDEF:
      case BTF_KIND.VOLATILE:
      case BTF_KIND.CONST:
      case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG:
      case BTF_KIND.VAR:
        ref(sizeOrType, id, KIND_NAMES[kind]);
        break;
      case BTF_KIND.FUNC:
        ref(sizeOrType, id, "func");
        if (vlen > 2) corrupt(op, `type [${id}]: func linkage ${vlen}`);
        break;
      case BTF_KIND.DECL_TAG:
        ref(sizeOrType, id, "decl_tag");
        break;
      case BTF_KIND.ARRAY:
        ref(words[p + 3], id, "array element");
        ref(words[p + 4], id, "array index");
        break;
      case BTF_KIND.STRUCT:
      case BTF_KIND.UNION:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) {
          name(words[q], id, `member ${i} name`);
          ref(words[q + 1], id, `member ${i}`);
        }
        break;
      case BTF_KIND.FUNC_PROTO:
        ref(sizeOrType, id, "return type");
        for (let i = 0, q = p + 3; i < vlen; i++, q += 2) {
          name(words[q], id, `parameter ${i} name`);
          ref(words[q + 1], id, `parameter ${i}`);
        }
        break;
      case BTF_KIND.DATASEC:
        for (let i = 0, q = p + 3; i < vlen; i++, q += 3) ref(words[q], id, `variable ${i}`);
        break;
      default:
        corrupt(op, `type [${id}] has unknown kind ${kind}`);
    }
  }
  edgeStart[count] = edges.length;

  // What each kind may point at, where libbpf reads the target as that kind.
  for (let id = 1; id < count; id++) {
    const kind = kinds[id];
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

  findLoop(op, count, kinds, edgeStart, edges);

  checkLayouts(op, data, kinds, edgeStart, edges);
  return data;
}

/**
 * Sizes fit: struct and union members lie inside their type, a bitfield is an int or enum
 * (libbpf's CO-RE arithmetic divides by its size), an array's bytes fit 32 bits, and a
 * DATASEC gives each variable at least its type's size. libbpf and bpfsh's codecs read
 * members at these offsets without checking them again. The loop check ran first, so
 * every chain followed here ends.
 */
function checkLayouts(
  op: string,
  data: BtfData,
  kinds: Uint8Array,
  edgeStart: Uint32Array,
  edges: number[],
): void {
  const { words, offsets, count } = data;
  const sizes = new Float64Array(count).fill(NaN);
  /** Byte size of a type; -1 when it has none (void, fwd, functions). */
  const sizeOf = (id: number): number => {
    const chain: number[] = [];
    let mult = 1;
    let t = id;
    let size = -1;
    for (;;) {
      if (!Number.isNaN(sizes[t])) {
        size = sizes[t];
        break;
      }
      const k = kinds[t];
      const p = t ? offsets[t - 1] : 0;
      if (k === BTF_KIND.PTR) size = 8;
      else if (SIZED_KINDS.has(k)) size = words[p + 2];
      else if (MODIFIER_KINDS.has(k) || k === BTF_KIND.VAR) {
        chain.push(t);
        t = edges[edgeStart[t]];
        continue;
      } else if (k === BTF_KIND.ARRAY) {
        chain.push(t);
        mult *= words[p + 5];
        t = words[p + 3];
        continue;
      }
      sizes[t] = size;
      break;
    }
    const total = size < 0 ? -1 : size * mult;
    if (total > 0xffffffff) corrupt(op, `type [${id}] is ${total} bytes`);
    // Without arrays on the way every link of the chain has the same size.
    if (mult !== 1) sizes[id] = total;
    else for (const c of chain) sizes[c] = size;
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
          while (MODIFIER_KINDS.has(kinds[t])) t = edges[edgeStart[t]];
          const k = kinds[t];
          if (k !== BTF_KIND.INT && k !== BTF_KIND.ENUM && k !== BTF_KIND.ENUM64) {
            corrupt(op, `type [${id}]: bitfield member ${i} is a ${KIND_NAMES[k]}`);
          }
          if (off + bitSize > bits) corrupt(op, `type [${id}]: member ${i} lies past its end`);
          continue;
        }
        const size = sizeOf(member);
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

/**
 * Refuse type graphs that loop without a pointer into a struct, union or function on the
 * way (a struct containing itself, a typedef of itself, a pointer to itself): libbpf and
 * bpfsh's own BTF code follow such chains until the stack or the process runs out.
 */
function findLoop(
  op: string,
  count: number,
  kinds: Uint8Array,
  edgeStart: Uint32Array,
  edges: number[],
): void {
  // Pass 1: every edge except those out of a pointer. Pass 2: only chains of reference
  // kinds (pointers included), where no struct, union or function proto breaks a loop.
  for (const pass of [1, 2]) {
    const follow = (from: number, to: number) =>
      to !== 0 &&
      (pass === 1
        ? kinds[from] !== BTF_KIND.PTR
        : REFERENCE_KINDS.has(kinds[from]) && REFERENCE_KINDS.has(kinds[to]));
    // Iterative DFS: 0 unseen, 1 on the stack, 2 done.
    const state = new Uint8Array(count);
    const stack: number[] = [];
    const cursor: number[] = [];
    for (let root = 1; root < count; root++) {
      if (state[root]) continue;
      state[root] = 1;
      stack.push(root);
      cursor.push(edgeStart[root]);
      while (stack.length) {
        const top = stack.length - 1;
        const node = stack[top];
        const e = cursor[top];
        if (e === edgeStart[node + 1]) {
          state[node] = 2;
          stack.pop();
          cursor.pop();
          continue;
        }
        cursor[top] = e + 1;
        const next = edges[e];
        if (!follow(node, next)) continue;
        if (state[next] === 1) {
          corrupt(op, `type [${next}] contains itself (a loop through [${node}])`);
        }
        if (state[next] === 0) {
          state[next] = 1;
          stack.push(next);
          cursor.push(edgeStart[next]);
        }
      }
    }
  }
}
