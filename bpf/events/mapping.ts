/**
 * Shared mappings of kernel buffers (a ring buffer map's pages, a perf event's ring) into
 * this process, as ArrayBuffers the readers walk with plain typed-array reads.
 *
 * @module
 */

import { ERRNO } from "../../ffi/abi.ts";
import { BpfError } from "../../ffi/errors.ts";
import { errno, libc, MAP_FAILED, MAP_SHARED } from "../../ffi/libc.ts";

/**
 * A shared mapping of part of a kernel object (a BPF map or a perf event) into memory.
 *
 * @example
 * ```ts
 * const m = Mapping.map(fd, 4096, PROT_READ, 0, "ring buffer mmap");
 * const u32 = new Uint32Array(m.buffer);
 * m.unmap();
 * ```
 */
export class Mapping {
  /** The mapped bytes; must not be touched after {@link Mapping.unmap}. */
  readonly buffer: ArrayBuffer;
  #ptr: Deno.PointerObject | null;
  readonly #length: number;

  private constructor(ptr: Deno.PointerObject, length: number) {
    this.#ptr = ptr;
    this.#length = length;
    this.buffer = Deno.UnsafePointerView.getArrayBuffer(ptr, length);
  }

  /**
   * Map `length` bytes of `fd` at `offset` (MAP_SHARED).
   *
   * @param fd The file to map.
   * @param length Bytes to map.
   * @param prot PROT_READ, optionally | PROT_WRITE.
   * @param offset The file offset (a multiple of the page size).
   * @param op The operation to name in an error.
   * @returns The mapping.
   * @example
   * ```ts
   * const consumer = Mapping.map(map.fd, pageSize(), PROT_READ | PROT_WRITE, 0, "mmap");
   * ```
   */
  static map(fd: number, length: number, prot: number, offset: number, op: string): Mapping {
    const ptr = libc().mmap(null, BigInt(length), prot, MAP_SHARED, fd, BigInt(offset));
    if (ptr === null || Deno.UnsafePointer.value(ptr) === MAP_FAILED) {
      const code = errno();
      throw new BpfError({
        op,
        errno: code,
        message: `cannot map ${length} bytes of fd ${fd} at offset ${offset}`,
        hint: code === ERRNO.EPERM || code === ERRNO.EACCES ? "run as root" : undefined,
      });
    }
    return new Mapping(ptr, length);
  }

  /** Whether the mapping is still there. */
  get mapped(): boolean {
    return this.#ptr !== null;
  }

  /**
   * Unmap; calling it again does nothing.
   *
   * @example
   * ```ts
   * mapping.unmap();
   * ```
   */
  unmap(): void {
    if (this.#ptr === null) return;
    libc().munmap(this.#ptr, BigInt(this.#length));
    this.#ptr = null;
  }
}
