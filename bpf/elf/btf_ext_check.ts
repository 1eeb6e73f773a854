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

/** The highest `enum bpf_core_relo_kind` (BPF_CORE_TYPE_MATCHES). */
const CORE_RELO_KIND_MAX = 12;

/** Throw the error of a refused blob. */
function corrupt(op: string, message: string): never {
  refuse(op, ".BTF.ext", message);
}

/** One of the three record blocks: where its header fields sit, what a record holds. */
interface Block {
  what: string;
  /** Header offsets of the block's `off` and `len` fields. */
  at: number;
  /** Smallest record libbpf accepts. */
  minRecord: number;
  /** Check one record (at a byte offset of the blob). */
  check: (dv: DataView, rec: number, where: string) => void;
}

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
  const strLen = btf.header.strLen;
  const str = (off: number, where: string, what: string) => {
    if (off >= strLen && off !== 0) corrupt(op, `${where}: ${what} offset ${off} is not a string`);
  };
  const type = (id: number, where: string) => {
    if (id >= btf.count) corrupt(op, `${where}: type [${id}] does not exist`);
  };
  const insn = (off: number, where: string) => {
    if (off % 8) corrupt(op, `${where}: instruction offset ${off} is not a multiple of 8`);
  };
  const blocks: Block[] = [
    {
      what: "func_info",
      at: 8,
      minRecord: 8,
      check: (d, rec, where) => {
        insn(d.getUint32(rec, true), where);
        const id = d.getUint32(rec + 4, true);
        type(id, where);
        if (btf.kindNo(id) !== BTF_KIND.FUNC) corrupt(op, `${where}: type [${id}] is not a func`);
      },
    },
    {
      what: "line_info",
      at: 16,
      minRecord: 16,
      check: (d, rec, where) => {
        insn(d.getUint32(rec, true), where);
        str(d.getUint32(rec + 4, true), where, "file name");
        str(d.getUint32(rec + 8, true), where, "line");
      },
    },
    {
      what: "core_relo",
      at: 24,
      minRecord: 16,
      check: (d, rec, where) => {
        insn(d.getUint32(rec, true), where);
        type(d.getUint32(rec + 4, true), where);
        str(d.getUint32(rec + 8, true), where, "access string");
        const kind = d.getUint32(rec + 12, true);
        if (kind > CORE_RELO_KIND_MAX) corrupt(op, `${where}: unknown relocation kind ${kind}`);
      },
    },
  ];
  for (const b of blocks) {
    // Older headers end before the CO-RE fields; libbpf then skips the block.
    if (b.at + 8 > hdrLen) continue;
    const off = dv.getUint32(b.at, true);
    const len = dv.getUint32(b.at + 4, true);
    if (len === 0) continue;
    const start = hdrLen + off;
    if (off % 4 || start + len > blob.length) {
      corrupt(op, `${b.what} (offset ${off}, ${len} bytes) runs past the end of the section`);
    }
    if (len < 4) corrupt(op, `${b.what} has no record size`);
    const recSize = dv.getUint32(start, true);
    if (recSize < b.minRecord || recSize % 4) {
      corrupt(op, `${b.what} record size ${recSize}`);
    }
    const end = start + len;
    let at = start + 4;
    if (at === end) corrupt(op, `${b.what} has no records`);
    for (let sec = 0; at < end; sec++) {
      if (at + 8 > end) corrupt(op, `${b.what} block ${sec} has no header`);
      str(dv.getUint32(at, true), `${b.what} block ${sec}`, "section name");
      const n = dv.getUint32(at + 4, true);
      if (n === 0 || at + 8 + n * recSize > end) {
        corrupt(op, `${b.what} block ${sec} claims ${n} records of ${recSize} bytes`);
      }
      at += 8;
      for (let i = 0; i < n; i++, at += recSize) {
        b.check(dv, at, `${b.what} block ${sec} record ${i}`);
      }
    }
  }
}
