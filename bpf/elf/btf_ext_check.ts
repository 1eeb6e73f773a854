/**
 * Checks of an untrusted `.BTF.ext` blob (function info, line info and CO-RE relocation
 * records) against its `.BTF`: libbpf 1.1.2 checks the framing of the three blocks, but
 * looks up the records' type ids and strings without checking (a CO-RE record naming a
 * missing type is read past the end of the type table at load).
 *
 * @module
 */

import type { BtfData } from "../btf/raw.ts";
import { refuse } from "./corrupt.ts";
import { BTF_KIND } from "../btf/types.ts";
import { elfWords } from "./elf.ts";

/** The highest `enum bpf_core_relo_kind` (BPF_CORE_TYPE_MATCHES). */
const CORE_RELO_KIND_MAX = 12;

/** Throw the error of a refused blob. */
function corrupt(op: string, message: string): never {
  refuse(op, ".BTF.ext", message);
}

/** The three record blocks: where their header fields sit, the smallest record libbpf takes. */
const BLOCKS = [
  { what: "func_info", at: 8, minRecord: 8 },
  { what: "line_info", at: 16, minRecord: 16 },
  { what: "core_relo", at: 24, minRecord: 16 },
] as const;

/**
 * Check a `.BTF.ext` blob.
 *
 * @param blob The `.BTF.ext` section's bytes.
 * @param btf The object's checked `.BTF` (see {@link checkBtf}).
 * @param op The operation, for errors.
 * @throws {BpfError} EILSEQ naming the broken block and record.
 * @example
 * ```ts
 * checkBtfExt(elfSection(bytes, ".BTF.ext")!, checkBtf(elfSection(bytes, ".BTF")!));
 * ```
 */
export function checkBtfExt(blob: Uint8Array, btf: BtfData, op = "check BTF.ext"): void {
  if (blob.length < 8) corrupt(op, `${blob.length} bytes are too few for a header`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic !== 0xeb9f) corrupt(op, `bad magic 0x${magic.toString(16)}`);
  if (dv.getUint8(2) !== 1) corrupt(op, `unsupported version ${dv.getUint8(2)}`);
  if (dv.getUint8(3) !== 0) corrupt(op, `unsupported flags 0x${dv.getUint8(3).toString(16)}`);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > blob.length || hdrLen % 4) {
    corrupt(op, `header length ${hdrLen} (the section has ${blob.length} bytes)`);
  }
  // Every field is a u32 at a multiple of 4 from the start (offsets and sizes are checked
  // to be): the blob as words.
  const w = elfWords(blob, 0, blob.length);
  const strLen = btf.header.strLen;
  const count = btf.count;
  for (const [b, { what, at, minRecord }] of BLOCKS.entries()) {
    // Older headers end before the CO-RE fields; libbpf then skips the block.
    if (at + 8 > hdrLen) continue;
    const off = dv.getUint32(at, true);
    const len = dv.getUint32(at + 4, true);
    if (len === 0) continue;
    const start = hdrLen + off;
    if (off % 4 || start + len > blob.length) {
      corrupt(op, `${what} (offset ${off}, ${len} bytes) runs past the end of the section`);
    }
    if (len < 4) corrupt(op, `${what} has no record size`);
    const recSize = w[start / 4];
    if (recSize < minRecord || recSize % 4) corrupt(op, `${what} record size ${recSize}`);
    const recWords = recSize / 4;
    const end = (start + len) >>> 2;
    let q = start / 4 + 1;
    if (q >= end) corrupt(op, `${what} has no records`);
    for (let sec = 0; q < end; sec++) {
      if (q + 2 > end) corrupt(op, `${what} block ${sec} has no header`);
      if (w[q] >= strLen && w[q] !== 0) {
        corrupt(op, `${what} block ${sec}: section name offset ${w[q]} is not a string`);
      }
      const n = w[q + 1];
      if (n === 0 || q + 2 + n * recWords > end) {
        corrupt(op, `${what} block ${sec} claims ${n} records of ${recSize} bytes`);
      }
      q += 2;
      for (let i = 0; i < n; i++, q += recWords) {
        // insn_off, then: func_info type_id; line_info file and line strings;
        // core_relo type_id, access string, kind.
        let bad = w[q] % 8 !== 0;
        if (b === 0) bad ||= w[q + 1] >= count || btf.kindNo(w[q + 1]) !== BTF_KIND.FUNC;
        else if (b === 1) {
          bad ||= (w[q + 1] >= strLen && w[q + 1] !== 0) || (w[q + 2] >= strLen && w[q + 2] !== 0);
        } else {
          bad ||= w[q + 1] >= count || (w[q + 2] >= strLen && w[q + 2] !== 0) ||
            w[q + 3] > CORE_RELO_KIND_MAX;
        }
        if (bad) explain(op, btf, b, w, q, `${what} block ${sec} record ${i}`);
      }
    }
  }
}

/** Say what is wrong with a record the fast pass refused, and throw. */
function explain(
  op: string,
  btf: BtfData,
  block: number,
  w: Uint32Array,
  q: number,
  where: string,
): never {
  const strLen = btf.header.strLen;
  const str = (v: number, what: string) => {
    if (v >= strLen && v !== 0) corrupt(op, `${where}: ${what} offset ${v} is not a string`);
  };
  const type = (id: number) => {
    if (id >= btf.count) corrupt(op, `${where}: type [${id}] does not exist`);
  };
  if (w[q] % 8) corrupt(op, `${where}: instruction offset ${w[q]} is not a multiple of 8`);
  if (block === 0) {
    type(w[q + 1]);
    corrupt(op, `${where}: type [${w[q + 1]}] is not a func`);
  }
  if (block === 1) {
    str(w[q + 1], "file name");
    str(w[q + 2], "line");
    corrupt(op, `${where} is malformed`);
  }
  type(w[q + 1]);
  str(w[q + 2], "access string");
  corrupt(op, `${where}: unknown relocation kind ${w[q + 3]}`);
}
