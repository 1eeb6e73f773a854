/**
 * ELF notes (a PT_NOTE segment's or SHT_NOTE section's records) and the GNU build-id among
 * them: all a kernel's `/sys/kernel/notes` needs, without the rest of the ELF reader.
 *
 * @module
 */

/** Note type of the GNU build-id (owner `"GNU"`). */
export const NT_GNU_BUILD_ID = 3;

/** One note of a PT_NOTE segment or SHT_NOTE section. */
export interface ElfNote {
  /** The owner, e.g. `"GNU"`. */
  readonly name: string;
  /** The note type within its owner. */
  readonly type: number;
  /** The descriptor bytes. */
  readonly desc: Uint8Array;
}

/**
 * Parse the notes of one note segment or section (4-byte aligned name and descriptor).
 *
 * @param bytes The segment's bytes.
 * @returns The notes; a truncated last note is dropped.
 * @example
 * ```ts
 * parseNotes(elf.section(".note.gnu.build-id")!);
 * ```
 */
export function parseNotes(bytes: Uint8Array): ElfNote[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ElfNote[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    const namesz = dv.getUint32(at, true);
    const descsz = dv.getUint32(at + 4, true);
    const type = dv.getUint32(at + 8, true);
    const nameAt = at + 12;
    const descAt = nameAt + align4(namesz);
    const end = descAt + align4(descsz);
    if (descAt + descsz > bytes.length) break;
    let nameEnd = nameAt + namesz;
    while (nameEnd > nameAt && bytes[nameEnd - 1] === 0) nameEnd--;
    out.push({
      name: new TextDecoder().decode(bytes.subarray(nameAt, nameEnd)),
      type,
      desc: bytes.slice(descAt, descAt + descsz),
    });
    at = end;
  }
  return out;
}

/**
 * The GNU build-id among ELF notes, in hex.
 *
 * @param notes Notes, as {@link parseNotes} reads them.
 * @returns The first non-empty GNU build-id, or undefined when there is none.
 */
export function buildIdOf(notes: ElfNote[]): string | undefined {
  const n = notes.find((x) => x.name === "GNU" && x.type === NT_GNU_BUILD_ID && x.desc.length);
  return n ? hex(n.desc) : undefined;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
