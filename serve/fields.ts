/**
 * Where a config's fields are in a map's key and value bytes, resolved from BTF once, and
 * fast readers for them. Every check that needs the object (a field that does not exist, a
 * struct where a number is needed, a bitfield) fails here, before anything is attached.
 *
 * @module
 */

import { BpfError } from "../ffi/errors.ts";
import type { Btf } from "../bpf/btf/btf.ts";
import type { FieldShape } from "./decoders.ts";

/** A field of a key or value, resolved. */
export interface Field {
  /** Byte offset from the start of the key or value. */
  offset: number;
  /** Its BTF type id (0: a whole key or value with no BTF). */
  typeId: number;
  /** Its type. */
  shape: FieldShape;
  /** Element count and element size when the field is an array of integers. */
  elements?: { count: number; size: number; signed: boolean };
  /** Member names when the field is a struct, for hints. */
  members?: string[];
}

function fail(message: string, hint?: string): BpfError {
  return new BpfError({ op: "serve config", message, hint });
}

/** The member names of a struct, for hints. */
function memberNames(btf: Btf, id: number): string[] {
  const t = btf.typeById(btf.resolve(id));
  return t.kind === "struct" || t.kind === "union" ? t.members.map((m) => m.name || "(anon)") : [];
}

/**
 * The shape of a BTF type.
 *
 * @param btf The object's BTF.
 * @param id The type id.
 * @returns Its shape, with the element layout for integer arrays.
 */
function shapeOf(btf: Btf, id: number): Omit<Field, "offset" | "typeId"> {
  const rid = btf.resolve(id);
  const t = btf.typeById(rid);
  const size = btf.sizeOf(rid);
  switch (t.kind) {
    case "int":
      return { shape: { kind: "int", size, signed: t.signed } };
    case "enum":
    case "enum64":
      return {
        shape: {
          kind: "enum",
          size,
          signed: t.signed,
          enumerators: new Map(t.values.map((v) => [v.value, v.name])),
        },
      };
    case "ptr":
      return { shape: { kind: "int", size, signed: false } };
    case "array": {
      const elem = btf.typeById(btf.resolve(t.type));
      const decoded = btf.codec(rid).decode(new Uint8Array(size));
      if (typeof decoded === "string") return { shape: { kind: "string", size } };
      const elements = elem.kind === "int" || elem.kind === "enum"
        ? { count: t.nelems, size: btf.sizeOf(t.type), signed: elem.signed }
        : undefined;
      return { shape: { kind: "array", size }, elements };
    }
    default:
      return { shape: { kind: "struct", size }, members: memberNames(btf, rid) };
  }
}

/**
 * Resolve a field of a key or value type.
 *
 * @param btf The object's BTF (undefined when the map has none).
 * @param typeId The key or value type id (0 when the map has no BTF for it).
 * @param size The key or value size in bytes.
 * @param path The field path, or undefined for the whole key or value.
 * @param what `key` or `value`, with the map's name, for messages (e.g. `key of map 'execs'`).
 * @param where The config path, for messages.
 * @returns The field.
 * @throws {BpfError} op `serve config` naming the fields that exist.
 * @example
 * ```ts
 * const f = resolveField(map.btf, map.keyTypeId, map.keySize, "comm", "key of 'execs'", "labels[0]");
 * f.shape.kind; // "string"
 * ```
 */
export function resolveField(
  btf: Btf | undefined,
  typeId: number,
  size: number,
  path: string | undefined,
  what: string,
  where: string,
): Field {
  if (!btf || !typeId) {
    if (path !== undefined) {
      throw fail(
        `${where}: field '${path}': the ${what} has no BTF type`,
        "compile the program with -g (bpfsh does for .bpf.c) and declare the map with __type()",
      );
    }
    if (![1, 2, 4, 8].includes(size)) {
      throw fail(`${where}: the ${what} is ${size} bytes with no BTF type to read it by`);
    }
    return { offset: 0, typeId: 0, shape: { kind: "int", size, signed: false } };
  }
  if (path === undefined) return { offset: 0, typeId, ...shapeOf(btf, typeId) };
  const t = btf.typeById(btf.resolve(typeId));
  if (t.kind !== "struct" && t.kind !== "union") {
    throw fail(
      `${where}: field '${path}': the ${what} is ${btf.nameOf(typeId)}, not a struct`,
      "leave `field` out to use the whole key or value",
    );
  }
  const info = btf.field(typeId, path);
  if (!info) {
    throw fail(
      `${where}: the ${what} (${btf.nameOf(typeId)}) has no field '${path}'`,
      `fields: ${memberNames(btf, typeId).join(", ")}`,
    );
  }
  if (info.bitSize || info.bitOffset % 8) {
    throw fail(`${where}: field '${path}' of the ${what} is a bitfield`, "use a whole field");
  }
  return { offset: info.bitOffset / 8, typeId: info.type, ...shapeOf(btf, info.type) };
}

/**
 * A reader of an integer field as a number (above 2^53 it rounds, as Prometheus values do).
 *
 * @param bytes The buffer.
 * @param size 1, 2, 4 or 8.
 * @param signed Whether the integer is signed.
 * @returns `(offset) => number`.
 * @example
 * ```ts
 * intReader(new Uint8Array([5, 0, 0, 0]), 4, false)(0); // 5
 * ```
 */
export function intReader(
  bytes: Uint8Array,
  size: number,
  signed = false,
): (offset: number) => number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (size) {
    case 1:
      return signed ? (o) => dv.getInt8(o) : (o) => bytes[o];
    case 2:
      return signed ? (o) => dv.getInt16(o, true) : (o) => dv.getUint16(o, true);
    case 4:
      return signed ? (o) => dv.getInt32(o, true) : (o) => dv.getUint32(o, true);
    case 8:
      return signed
        ? (o) => dv.getInt32(o + 4, true) * 4294967296 + dv.getUint32(o, true)
        : (o) => dv.getUint32(o + 4, true) * 4294967296 + dv.getUint32(o, true);
  }
  throw fail(`an integer of ${size} bytes cannot be read`);
}

/**
 * Check that a resolved field is an integer, for values, counts and slots.
 *
 * @param f The field.
 * @param what What it is for, for the message.
 * @param where The config path.
 * @throws {BpfError} op `serve config` when it is not.
 */
export function needInt(f: Field, what: string, where: string): void {
  if ((f.shape.kind === "int" || f.shape.kind === "enum") && [1, 2, 4, 8].includes(f.shape.size)) {
    return;
  }
  throw fail(
    `${where}: ${what} must be an integer, not ${
      f.shape.kind === "struct" ? "a struct" : f.shape.kind === "string" ? "a string" : "an array"
    }`,
    f.members ? `name one of its members: ${f.members.join(", ")}` : undefined,
  );
}
