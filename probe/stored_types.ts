/**
 * How probe programs store values in maps, described once for both back ends: the C back
 * end renders these types as C (`cTypeName`, `cStructDef`), the direct back end as BTF
 * (probe/direct/map_btf.ts). Which type each map's key and value has is
 * probe/map_types.ts.
 *
 * @module
 */

import { storedCType, type Ty } from "./types.ts";

/** An integer, a `char[N]` string or a struct, as a map's key or value holds it. */
export type StoredType =
  | { k: "int"; name: "__u32" | "__u64" | "__s64"; size: number; signed: boolean }
  | { k: "str"; size: number }
  | StoredStruct;

/** A struct {@link StoredType}. */
export interface StoredStruct {
  k: "struct";
  name: string;
  size: number;
  members: StoredMember[];
}

/** A member of a struct {@link StoredType}. */
export interface StoredMember {
  name: string;
  type: StoredType;
  /** Byte offset. */
  offset: number;
}

/** `__u32`. */
export const U32: StoredType = { k: "int", name: "__u32", size: 4, signed: false };
/** `__u64`. */
export const U64: StoredType = { k: "int", name: "__u64", size: 8, signed: false };
/** `__s64`. */
export const S64: StoredType = { k: "int", name: "__s64", size: 8, signed: true };

/** min() and max(): the value, and whether one was seen. */
export const MINMAX_TYPE: StoredStruct = {
  k: "struct",
  name: "bt_minmax",
  size: 16,
  members: [{ name: "value", type: S64, offset: 0 }, { name: "set", type: U64, offset: 8 }],
};

/** avg() and stats(): the total and the count. */
export const AVG_TYPE: StoredStruct = {
  k: "struct",
  name: "bt_avg",
  size: 16,
  members: [{ name: "total", type: S64, offset: 0 }, { name: "count", type: U64, offset: 8 }],
};

/**
 * How a value of a probe-language type is stored.
 *
 * @param t The type.
 * @param size Its bytes in the map (a string's buffer).
 * @returns `char[size]` for strings, else a 64-bit integer.
 * @example
 * ```ts
 * storedType({ k: "int", signed: true, size: 8 }, 8); // __s64
 * ```
 */
export function storedType(t: Ty, size: number): StoredType {
  if (t.k === "str") return { k: "str", size };
  const c = storedCType(t);
  if (c === "__s64") return S64;
  if (c === "__u64") return U64;
  throw new Error(`no stored type for ${c}`);
}

/**
 * A C identifier from a label (a key struct's member, a tracepoint field).
 *
 * @param name The label.
 * @returns An identifier that is no C keyword.
 * @example
 * ```ts
 * cIdent("str(x)"); // "str_x_"
 * ```
 */
export function cIdent(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_]/g, "_");
  if (/^\d/.test(s)) s = `_${s}`;
  return C_KEYWORDS.has(s) ? `${s}_` : s;
}

/**
 * A stored type as C names it in a declaration: `__u64`, `char[16]`, `struct at_x_key`.
 *
 * @param t The type.
 * @returns Its C name.
 * @example
 * ```ts
 * cTypeName({ k: "str", size: 16 }); // "char[16]"
 * ```
 */
export function cTypeName(t: StoredType): string {
  return t.k === "int" ? t.name : t.k === "str" ? `char[${t.size}]` : `struct ${t.name}`;
}

/**
 * A struct's C definition.
 *
 * @param t The struct.
 * @returns `struct NAME {\n\tTYPE member;\n…};\n`.
 * @example
 * ```ts
 * cStructDef(MINMAX_TYPE); // "struct bt_minmax {\n\t__s64 value;\n\t__u64 set;\n};\n"
 * ```
 */
export function cStructDef(t: StoredStruct): string {
  const fields = t.members.map((m) =>
    m.type.k === "str" ? `\tchar ${m.name}[${m.type.size}];` : `\t${cTypeName(m.type)} ${m.name};`
  );
  return `struct ${t.name} {\n${fields.join("\n")}\n};\n`;
}

/** C's keywords (a label that is one gets a trailing `_`). */
const C_KEYWORDS = new Set([
  "auto",
  "break",
  "case",
  "char",
  "const",
  "continue",
  "default",
  "do",
  "double",
  "else",
  "enum",
  "extern",
  "float",
  "for",
  "goto",
  "if",
  "int",
  "long",
  "register",
  "return",
  "short",
  "signed",
  "sizeof",
  "static",
  "struct",
  "switch",
  "typedef",
  "union",
  "unsigned",
  "void",
  "volatile",
  "while",
]);
