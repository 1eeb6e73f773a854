/**
 * The one error a refused object gets: which check failed, on which part, and what to do.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";

/** What to tell a user whose object was refused. */
const HINT = "the file is damaged or was not made by clang -target bpf -g: rebuild it";

/**
 * Throw the error of a refused object.
 *
 * @param op The operation (e.g. `"open 'x.bpf.o'"`).
 * @param part What is broken: `"object"` (ELF structure), `".BTF"` or `".BTF.ext"`.
 * @param message What exactly.
 * @throws {BpfError} Always: ENOEXEC for the ELF structure, EILSEQ for BTF.
 * @example
 * ```ts
 * refuse("open 'x.o'", ".BTF", "type [3] refers to type [99]");
 * ```
 */
export function refuse(op: string, part: "object" | ".BTF" | ".BTF.ext", message: string): never {
  throw new BpfError({
    op,
    errno: part === "object" ? ERRNO.ENOEXEC : ERRNO.EILSEQ,
    message: `corrupt ${part}: ${message}`,
    hint: HINT,
  });
}

/**
 * The message of an error from a lower-level reader, without its operation and errno text,
 * to be said again as this check's error.
 *
 * @param e The reader's error.
 * @returns What was wrong, e.g. `"section 5 runs past the end of the file"`.
 * @example
 * ```ts
 * reason(e); // "bad magic 0x1234 (expected 0xeb9f)"
 * ```
 */
export function reason(e: BpfError): string {
  return e.message.split("\n")[0].replace(/^[^:]*: /, "").replace(/: [^:]* \([A-Z0-9_]+\)$/, "");
}
