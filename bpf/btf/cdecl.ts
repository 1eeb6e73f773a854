/**
 * C declarations from BTF types: `"struct data_t"`, `"char[16]"`, `"u64 *"`,
 * `"int (*fn)(void *, ...)"`.
 *
 * The declarator is built inside-out (the C rule: pointers prefix, arrays and
 * parameter lists suffix, parentheses where a pointer meets an array or a function).
 *
 * @module
 */

import type { BtfType } from "./types.ts";

/** Something that turns a type id into its record (a {@link Btf}). */
export type TypeLookup = (id: number) => BtfType;

/** Chains longer than this are malformed (a loop); stop rather than recurse forever. */
const MAX_DEPTH = 64;

/** Join a base type and a declarator: `"char" + "[16]"`, `"u64" + " *"`. */
function join(base: string, inner: string): string {
  if (!inner) return base;
  return inner[0] === "[" ? base + inner : `${base} ${inner}`;
}

/** A type tag as kernel sources spell it (`__user`), else the attribute form. */
function tagWord(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
    ? `__${name}`
    : `__attribute__((btf_type_tag(${JSON.stringify(name)})))`;
}

/**
 * The C declaration of `inner` with type `id`.
 *
 * @param lookup Returns the record of a type id.
 * @param id The type id.
 * @param inner The declarator (a member name, or `""` for an abstract type name).
 * @param depth Recursion depth (callers leave it 0).
 * @returns The declaration, e.g. `"char comm[16]"`.
 * @example
 * ```ts
 * declare((id) => btf.typeById(id), memberTypeId, "comm"); // "char comm[16]"
 * ```
 */
export function declare(lookup: TypeLookup, id: number, inner = "", depth = 0): string {
  if (depth > MAX_DEPTH) return join("?", inner);
  const t = lookup(id);
  const d = depth + 1;
  switch (t.kind) {
    case "void":
      return join("void", inner);
    case "int":
    case "float":
    case "typedef":
      return join(t.name, inner);
    case "struct":
    case "union":
      return join(`${t.kind} ${t.name || "{...}"}`, inner);
    case "enum":
    case "enum64":
      return join(`enum ${t.name || "{...}"}`, inner);
    case "fwd":
      return join(`${t.union ? "union" : "struct"} ${t.name}`, inner);
    case "ptr": {
      const target = lookup(t.type).kind;
      const star = "*" + inner;
      return declare(
        lookup,
        t.type,
        target === "array" || target === "func_proto" ? `(${star})` : star,
        d,
      );
    }
    case "const":
    case "volatile":
    case "restrict": {
      // A qualified pointer reads "char *const p"; a qualified value "const char c".
      if (lookup(t.type).kind === "ptr") {
        return declare(lookup, t.type, inner ? `${t.kind} ${inner}` : t.kind, d);
      }
      return `${t.kind} ${declare(lookup, t.type, inner, d)}`;
    }
    case "type_tag": {
      const word = tagWord(t.name);
      return declare(lookup, t.type, inner ? `${word} ${inner}` : word, d);
    }
    case "array":
      return declare(lookup, t.type, `${inner}[${t.nelems}]`, d);
    case "func_proto": {
      const params = t.params.map((p) =>
        p.type === 0 && p.name === "" ? "..." : declare(lookup, p.type, p.name, d)
      );
      return declare(lookup, t.type, `${inner}(${params.join(", ") || "void"})`, d);
    }
    case "func":
      return declare(lookup, t.type, inner || t.name, d);
    case "var":
      return declare(lookup, t.type, inner || t.name, d);
    case "datasec":
    case "decl_tag":
      return join(t.name, inner);
  }
}
