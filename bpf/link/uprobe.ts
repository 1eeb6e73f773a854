/**
 * User probes: `uprobe/BINARY:SYMBOL[+OFFSET]`, `uretprobe/BINARY:SYMBOL` and
 * `BINARY:0xADDRESS`, in executables and shared libraries, for every process or one pid.
 *
 * The binary is read here, not by libbpf: only regular ELF files are accepted (a FIFO or
 * a device would block inside the library call), and the file offset the kernel probes is
 * computed from the program header of the segment that maps the symbol.
 *
 * @module
 */

import { BPF_UPROBE_OPTS, ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { libbpf } from "../../ffi/libbpf.ts";
import { cstr } from "../../ffi/libc.ts";
import { type ElfImage, PF_X, PT_LOAD } from "../elf/image.ts";
import { type BinaryFunction, binaryFunctions, openBinary, resolveBinary } from "./binaries.ts";
import { type AttachContext, attachWithLibbpf, type LinkRelease } from "./link.ts";
import { guardLegacyEvents } from "./reaper.ts";

/** `st_info` type of an indirect function: its address is the resolver's. */
const STT_GNU_IFUNC = 10;

/** What {@link attachUprobe} probes. */
export interface UprobeTarget {
  /** A path, a program in PATH, or a library (`libc.so.6`, `libc`). */
  binary: string;
  /** The symbol; or give `address`. */
  func?: string;
  /** A virtual address in the binary, as `nm` or `objdump` shows it. */
  address?: number;
  /** Bytes past the symbol. */
  offset: number;
  /** Fire on return instead of entry. */
  retprobe: boolean;
  /** Only this process (-1: every process). */
  pid: number;
  /** The value `bpf_get_attach_cookie()` returns in the program. */
  cookie?: bigint;
}

/** Where a uprobe lands, resolved. */
export interface UprobeLocation {
  /** The binary's path. */
  path: string;
  /** The file offset the kernel probes. */
  offset: number;
  /** The symbol's address (or the address given). */
  address: number;
}

/**
 * Attach a uprobe or uretprobe.
 *
 * @param ctx The loaded program.
 * @param t The binary, symbol or address, offset, direction and pid.
 * @returns The link's release.
 * @example
 * ```ts
 * attachUprobe(ctx, { binary: "libc.so.6", func: "malloc", offset: 0, retprobe: false, pid: -1 });
 * ```
 */
export function attachUprobe(ctx: AttachContext, t: UprobeTarget): LinkRelease {
  const where = locateUprobe(t, ctx.op);
  checkPid(t.pid, ctx.op);
  guardLegacyEvents("uprobe");
  const opts = BPF_UPROBE_OPTS.alloc();
  BPF_UPROBE_OPTS.set(opts, "retprobe", t.retprobe);
  if (t.cookie !== undefined) BPF_UPROBE_OPTS.set(opts, "bpf_cookie", t.cookie);
  return attachWithLibbpf(
    ctx,
    () =>
      libbpf().bpf_program__attach_uprobe_opts(
        ctx.ptr,
        t.pid,
        cstr(where.path),
        BigInt(where.offset),
        opts,
      ),
    (errno) =>
      errno === ERRNO.ESRCH
        ? `no process ${t.pid}`
        : errno === ERRNO.EINVAL
        ? `offset 0x${where.offset.toString(16)} of '${where.path}' cannot be probed ` +
          "(not an instruction?)"
        : undefined,
  );
}

/**
 * Resolve a uprobe target to the file and offset the kernel probes.
 *
 * @param t The target.
 * @param op The operation, for errors.
 * @returns The path, file offset and address.
 * @throws {BpfError} When the file is missing, not a regular ELF file, has no such
 *   function, or the address lies in no executable segment.
 * @example
 * ```ts
 * locateUprobe({ binary: "/bin/bash", func: "readline", offset: 0, retprobe: true, pid: -1 }, "x");
 * ```
 */
export function locateUprobe(t: UprobeTarget, op: string): UprobeLocation {
  const path = resolveBinary(t.binary, op, t.pid);
  using elf = openBinary(path, op);
  let address: number;
  if (t.func !== undefined) {
    const sym = pickFunction(elf, t.func, op);
    if (t.offset && sym.size && t.offset >= sym.size) {
      throw new BpfError({
        op,
        message: `offset ${t.offset} is past the end of '${t.func}' (${sym.size} bytes)`,
      });
    }
    address = sym.value + t.offset;
  } else {
    address = (t.address ?? 0) + t.offset;
  }
  const offset = codeOffset(elf, address);
  if (offset === undefined) {
    throw new BpfError({
      op,
      errno: ERRNO.EINVAL,
      message: `address 0x${address.toString(16)} is in no executable segment of '${path}'`,
      hint: "give a symbol, or an address inside the code (objdump -d)",
    });
  }
  return { path, offset, address };
}

/** The file offset of an address inside an executable PT_LOAD segment. */
function codeOffset(elf: ElfImage, vaddr: number): number | undefined {
  for (const s of elf.segments) {
    if (s.type !== PT_LOAD || !(s.flags & PF_X)) continue;
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return vaddr - s.vaddr + s.offset;
  }
  return undefined;
}

function pickFunction(elf: ElfImage, func: string, op: string): BinaryFunction {
  const found = binaryFunctions(elf, (n) => n === func);
  if (!found.length) {
    throw new BpfError({
      op,
      errno: ERRNO.ENOENT,
      message: `no function '${func}' in '${elf.path}'`,
      hint: `list them with: probes 'uprobe:${elf.path}:${func.slice(0, 3)}*'`,
    });
  }
  const global = found.filter((s) => s.bind !== 0);
  const pool = global.length ? global : found;
  const addresses = new Set(pool.map((s) => s.value));
  if (addresses.size > 1) {
    throw new BpfError({
      op,
      message: `'${func}' names ${addresses.size} functions in '${elf.path}'`,
      hint: `give an address instead: ${
        [...addresses].map((a) => `${elf.path}:0x${a.toString(16)}`).join(", ")
      }`,
    });
  }
  const sym = pool[0];
  if (sym.type === STT_GNU_IFUNC) {
    throw new BpfError({
      op,
      message: `'${func}' in '${elf.path}' is an indirect function (IFUNC): its symbol is ` +
        "the resolver, which runs once when the symbol is bound",
      hint: "probe the implementation the resolver picks (e.g. __memcpy_avx_unaligned), " +
        "or a function that calls it",
    });
  }
  return sym;
}

function checkPid(pid: number, op: string): void {
  if (pid <= 0) return;
  try {
    Deno.statSync(`/proc/${pid}`);
  } catch {
    throw new BpfError({ op, errno: ERRNO.ESRCH, message: `no process ${pid}` });
  }
}
