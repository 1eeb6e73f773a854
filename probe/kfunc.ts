/**
 * What `kfunc:`/`kretfunc:` probes read as `args->NAME` and `retval`: a kernel function's
 * parameters and return value from the kernel's BTF, laid out as fentry/fexit programs see
 * them — one 8-byte slot per argument, and (fexit) the return value in the slot after the
 * last argument. The layout has the shape of a tracepoint's, so the rest of the compiler
 * reads it as it reads `args` of a tracepoint.
 *
 * @module
 */

import { Btf } from "../bpf/btf/btf.ts";
import { RETVAL_FIELD } from "./context.ts";
import type { TracepointField, TracepointFormat } from "./tracefs.ts";

const memo = new Map<string, TracepointFormat | null>();

/**
 * A kernel function's argument slots, from the running kernel's BTF.
 *
 * @param func The function, e.g. `"vfs_read"`.
 * @returns The layout (category `"kfunc"`, event the function; its return value, unless it
 *   returns void, is the field {@link RETVAL_FIELD}), or undefined when BTF has no such
 *   function.
 * @example
 * ```ts
 * kfuncFormat("vfs_read")?.fields.map((f) => f.name); // ["file", "buf", "count", "pos", "$retval"]
 * ```
 */
export function kfuncFormat(func: string): TracepointFormat | undefined {
  if (!memo.has(func)) memo.set(func, read(func) ?? null);
  return memo.get(func) ?? undefined;
}

function read(func: string): TracepointFormat | undefined {
  let btf: Btf;
  try {
    btf = Btf.kernel();
  } catch {
    return undefined;
  }
  const fn = btf.find(func);
  if (!fn || fn.kind !== "func") return undefined;
  const proto = btf.typeById(fn.type);
  if (proto.kind !== "func_proto") return undefined;
  const fields = proto.params.filter((p) => p.type !== 0).map((p, i) =>
    slot(btf, p.type, p.name || `arg${i}`, i * 8)
  );
  if (proto.type !== 0) fields.push(slot(btf, proto.type, RETVAL_FIELD, fields.length * 8));
  return { category: "kfunc", event: func, id: 0, fields, size: fields.length * 8 };
}

/** One argument slot: integers and enums keep their width and sign, pointers are 64-bit. */
function slot(btf: Btf, typeId: number, name: string, offset: number): TracepointField {
  const cType = btf.nameOf(typeId);
  const field: TracepointField = {
    name,
    cType,
    decl: btf.declare(typeId, name === RETVAL_FIELD ? "retval" : name),
    offset,
    size: 8,
    readSize: 8,
  };
  const t = btf.typeById(btf.resolve(typeId));
  if (t.kind === "ptr") {
    field.ty = { k: "ptr", to: btf.nameOf(t.type), user: false };
  } else if ((t.kind === "int" || t.kind === "enum" || t.kind === "enum64") && t.size <= 8) {
    const bits = t.size * 8;
    if (bits === 8 || bits === 16 || bits === 32 || bits === 64) {
      field.ty = { k: "int", bits, signed: t.signed };
      field.readSize = t.size;
    }
  }
  return field;
}
