/**
 * USDT probes (SystemTap's `sys/sdt.h`) of a binary, from its `.note.stapsdt` notes: each
 * note names a provider and a probe, the probe's address, its semaphore and how its
 * arguments are found (`-4@%eax 8@-16(%rbp)`).
 *
 * @module
 */

import { ElfImage, parseNotes } from "./image.ts";

/** The note type of a USDT probe. */
const NT_STAPSDT = 3;

/** One USDT probe site of a binary. */
export interface UsdtProbe {
  /** The provider, e.g. `"python"`. */
  readonly provider: string;
  /** The probe's name, e.g. `"function__entry"`. */
  readonly name: string;
  /** The probe site's address. */
  readonly address: number;
  /** The semaphore's address (0 when the probe has none). */
  readonly semaphore: number;
  /** The argument specs, e.g. `"-4@%eax 8@%rdx"` (empty when it has none). */
  readonly args: string;
}

/**
 * The USDT probes of an ELF file, one per probe site (a probe used in several places has
 * several sites).
 *
 * @param path The file (only a regular file is opened).
 * @returns The probes, in note order.
 * @throws {BpfError} When the file cannot be read or is not an ELF file.
 * @example
 * ```ts
 * usdtProbes("build/tests/usdt_target").map((p) => `${p.provider}:${p.name}`); // bpfsh:tick…
 * ```
 */
export function usdtProbes(path: string): UsdtProbe[] {
  using file = ElfImage.open(path);
  return usdtNotes(file);
}

/**
 * The USDT probes of an open ELF file (see {@link usdtProbes}).
 *
 * @param file The file.
 * @returns The probes, in note order.
 */
export function usdtNotes(file: ElfImage): UsdtProbe[] {
  const out: UsdtProbe[] = [];
  // Not in a PT_NOTE segment: the notes live in their own non-allocated section.
  const bytes = file.section(".note.stapsdt");
  for (const note of bytes ? parseNotes(bytes) : []) {
    if (note.name !== "stapsdt" || note.type !== NT_STAPSDT || note.desc.length < 27) continue;
    const dv = new DataView(note.desc.buffer, note.desc.byteOffset, note.desc.byteLength);
    const [provider, name, args] = strings(note.desc.subarray(24));
    if (!provider || !name) continue;
    out.push({
      provider,
      name,
      address: Number(dv.getBigUint64(0, true)),
      semaphore: Number(dv.getBigUint64(16, true)),
      args: args ?? "",
    });
  }
  return out;
}

function strings(bytes: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length && out.length < 3; i++) {
    if (bytes[i] !== 0) continue;
    out.push(new TextDecoder().decode(bytes.subarray(start, i)));
    start = i + 1;
  }
  return out;
}
