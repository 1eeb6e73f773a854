/**
 * BTF type records: the plain objects {@link Btf.typeById} returns, one shape per kind.
 *
 * Field names follow the kernel's `include/uapi/linux/btf.h`, in camelCase; bit offsets
 * stay in bits (as BTF stores them) and are named so.
 *
 * @module
 */

/**
 * BTF kind numbers, as in `include/uapi/linux/btf.h`.
 *
 * @example
 * ```ts
 * BTF_KIND.STRUCT; // 4
 * ```
 */
export const BTF_KIND = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/**
 * Kind names, indexed by kind number (0 is `void`, the type id 0).
 *
 * @example
 * ```ts
 * KIND_NAMES[BTF_KIND.ENUM64]; // "enum64"
 * ```
 */
export const KIND_NAMES: readonly BtfKind[] = [
  "void",
  "int",
  "ptr",
  "array",
  "struct",
  "union",
  "enum",
  "fwd",
  "typedef",
  "volatile",
  "const",
  "restrict",
  "func",
  "func_proto",
  "var",
  "datasec",
  "float",
  "decl_tag",
  "type_tag",
  "enum64",
];

/** A BTF kind name, e.g. `"struct"`: one of {@link KIND_NAMES}. */
export type BtfKind =
  | "void"
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

/** Fields every record has. */
export interface BtfBase {
  /** The type id (0 is void). */
  readonly id: number;
  /** The name; `""` for anonymous types. */
  readonly name: string;
}

/** The type id 0. */
export interface BtfVoid extends BtfBase {
  /** The kind, `void`. */
  readonly kind: "void";
}

/** An integer (`int`, `unsigned char`, `_Bool`, `char`, ...). */
export interface BtfInt extends BtfBase {
  /** The kind, `int`. */
  readonly kind: "int";
  /** Storage size in bytes. */
  readonly size: number;
  /** Number of value bits (usually size * 8). */
  readonly bits: number;
  /** Bit offset of the value inside its storage (0 in practice). */
  readonly bitOffset: number;
  /** Whether the encoding says signed. */
  readonly signed: boolean;
  /** Whether the encoding says char. */
  readonly char: boolean;
  /** Whether the encoding says bool. */
  readonly bool: boolean;
}

/** A pointer to {@link type}. */
export interface BtfPtr extends BtfBase {
  /** The kind, `ptr`. */
  readonly kind: "ptr";
  /** The pointee type id. */
  readonly type: number;
}

/** A fixed-size array. */
export interface BtfArray extends BtfBase {
  /** The kind, `array`. */
  readonly kind: "array";
  /** The element type id. */
  readonly type: number;
  /** The index type id. */
  readonly indexType: number;
  /** Number of elements. */
  readonly nelems: number;
}

/** One struct or union member. */
export interface BtfMember {
  /** The member name; `""` for an anonymous struct/union member. */
  readonly name: string;
  /** The member type id. */
  readonly type: number;
  /** Offset from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Bitfield width in bits; 0 when the member is not a bitfield. */
  readonly bitSize: number;
}

/** A struct or union. */
export interface BtfComposite extends BtfBase {
  /** The kind, one of `struct` | `union`. */
  readonly kind: "struct" | "union";
  /** Size in bytes. */
  readonly size: number;
  /** Members in declaration order. */
  readonly members: readonly BtfMember[];
}

/** One enumerator. */
export interface BtfEnumValue {
  /** The enumerator name. */
  readonly name: string;
  /** Its value: a number for `enum`, a bigint for `enum64`. */
  readonly value: number | bigint;
}

/** An enum (32-bit values) or enum64 (64-bit values). */
export interface BtfEnum extends BtfBase {
  /** The kind, one of `enum` | `enum64`. */
  readonly kind: "enum" | "enum64";
  /** Storage size in bytes (1, 2, 4 or 8). */
  readonly size: number;
  /** Whether the values are signed (the kind_flag). */
  readonly signed: boolean;
  /** Enumerators in declaration order. */
  readonly values: readonly BtfEnumValue[];
}

/** A forward declaration (`struct foo;`). */
export interface BtfFwd extends BtfBase {
  /** The kind, `fwd`. */
  readonly kind: "fwd";
  /** True for `union foo;`, false for `struct foo;`. */
  readonly union: boolean;
}

/** A typedef, a qualifier or a type tag pointing at {@link type}. */
export interface BtfRef extends BtfBase {
  /** The kind, one of `typedef` | `volatile` | `const` | `restrict` | `type_tag`. */
  readonly kind: "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  /** The referenced type id. */
  readonly type: number;
}

/** A function (its signature is the func_proto {@link type}). */
export interface BtfFunc extends BtfBase {
  /** The kind, `func`. */
  readonly kind: "func";
  /** The func_proto type id. */
  readonly type: number;
  /** Linkage: 0 static, 1 global, 2 extern. */
  readonly linkage: number;
}

/** One function parameter. */
export interface BtfParam {
  /** The parameter name (`""` in prototypes without names). */
  readonly name: string;
  /** The parameter type id; 0 with an empty name marks `...`. */
  readonly type: number;
}

/** A function prototype. */
export interface BtfFuncProto extends BtfBase {
  /** The kind, `func_proto`. */
  readonly kind: "func_proto";
  /** The return type id (0 is void). */
  readonly type: number;
  /** Parameters in order. */
  readonly params: readonly BtfParam[];
}

/** A global variable. */
export interface BtfVar extends BtfBase {
  /** The kind, `var`. */
  readonly kind: "var";
  /** The variable's type id. */
  readonly type: number;
  /** Linkage: 0 static, 1 global, 2 extern. */
  readonly linkage: number;
}

/** One variable of a data section. */
export interface BtfSecInfo {
  /** The var (or func) type id. */
  readonly type: number;
  /** Offset inside the section, in bytes. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
}

/** A data section (`.data`, `.rodata`, `.bss`, `.maps`, ...). */
export interface BtfDatasec extends BtfBase {
  /** The kind, `datasec`. */
  readonly kind: "datasec";
  /** Section size in bytes (0 in a raw object file before libbpf fixes it up). */
  readonly size: number;
  /** The section's variables. */
  readonly vars: readonly BtfSecInfo[];
}

/** A floating-point type. */
export interface BtfFloat extends BtfBase {
  /** The kind, `float`. */
  readonly kind: "float";
  /** Size in bytes (2, 4, 8, 12 or 16). */
  readonly size: number;
}

/** A declaration tag (`__attribute__((btf_decl_tag("x")))`). */
export interface BtfDeclTag extends BtfBase {
  /** The kind, `decl_tag`. */
  readonly kind: "decl_tag";
  /** The tagged type id. */
  readonly type: number;
  /** Member or parameter index, or -1 when the whole type is tagged. */
  readonly componentIdx: number;
}

/**
 * Any BTF type record; narrow on `kind`.
 *
 * @example
 * ```ts
 * const btf = Btf.fromElf(Deno.readFileSync("build/tests/btf_types.bpf.o"));
 * const t: BtfType = btf.typeById(btf.findId("struct padded")!);
 * if (t.kind === "struct") t.members.map((m) => m.name); // ["a", "b"]
 * ```
 */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfRef
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;

/**
 * One variable of a data section, resolved for globals access.
 *
 * @example
 * ```ts
 * using obj = await BpfObject.open("build/tests/globals.bpf.o");
 * obj.load();
 * const btf = obj.btf!;
 * const v: DatasecVar = btf.datasec(".data")!.find((v) => v.name === "greeting")!;
 * const section = obj.map(".data").getBytes(0)!; // the section's bytes
 * btf.codec(v.typeId).decode(section, v.offset); // "hi"
 * ```
 */
export interface DatasecVar {
  /** The variable name. */
  readonly name: string;
  /** The variable's value type id (the VAR's type, not the VAR). */
  readonly typeId: number;
  /** The VAR type id. */
  readonly varId: number;
  /** Offset inside the section, in bytes. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** The section name, e.g. `".bss"`. */
  readonly section: string;
}

/**
 * Where a field sits, from {@link Btf.field}.
 *
 * @example
 * ```ts
 * const f: BtfFieldInfo | undefined = Btf.kernel().field("task_struct", "pid");
 * f?.bitOffset; // where pid sits in task_struct, in bits
 * ```
 */
export interface BtfFieldInfo {
  /** The field's type id. */
  readonly type: number;
  /** Offset from the start of the outer struct, in bits. */
  readonly bitOffset: number;
  /** Bitfield width, 0 when not a bitfield. */
  readonly bitSize: number;
}
