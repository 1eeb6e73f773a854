/**
 * `/proc/PID/maps` parsed into sorted mappings, and the lookup of the mapping an address
 * falls in.
 *
 * @module
 */

/** One line of `/proc/PID/maps`. */
export interface Mapping {
  /** First address. */
  readonly start: number;
  /** One past the last address. */
  readonly end: number;
  /** Permissions, e.g. `"r-xp"`. */
  readonly perms: string;
  /** The file offset mapped at `start`. */
  readonly offset: number;
  /** The device, `"fe:00"`. */
  readonly dev: string;
  /** The inode (0 for anonymous memory). */
  readonly inode: number;
  /** The file, `"[vdso]"`, `"[heap]"`, `"[anon:name]"`, or `""` for anonymous memory. */
  readonly path: string;
  /** Whether the file was deleted since it was mapped (` (deleted)` in the file). */
  readonly deleted: boolean;
}

/**
 * Parse the text of a `/proc/PID/maps` file.
 *
 * @param text The file's contents.
 * @returns The mappings, sorted by address (as the kernel lists them).
 * @example
 * ```ts
 * parseProcMaps("55d0c000-55d0d000 r-xp 00001000 fe:00 1234   /usr/bin/x\n")[0].path;
 * // "/usr/bin/x"
 * ```
 */
export function parseProcMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    let path = m[7];
    const deleted = path.endsWith(" (deleted)");
    if (deleted) path = path.slice(0, -" (deleted)".length);
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      perms: m[3],
      offset: parseInt(m[4], 16),
      dev: m[5],
      inode: Number(m[6]),
      path,
      deleted,
    });
  }
  out.sort((a, b) => a.start - b.start);
  return out;
}

/**
 * The mapping an address falls in.
 *
 * @param maps Mappings sorted by start.
 * @param address A user address.
 * @returns The mapping, or undefined.
 * @example
 * ```ts
 * const maps = parseProcMaps("55d0c000-55d0d000 r-xp 00001000 fe:00 1234   /usr/bin/x\n");
 * findMapping(maps, 0x55d0c123)?.path; // "/usr/bin/x"
 * ```
 */
export function findMapping(maps: readonly Mapping[], address: number): Mapping | undefined {
  let lo = 0, hi = maps.length - 1;
  if (hi < 0 || address < maps[0].start) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (maps[mid].start <= address) lo = mid;
    else hi = mid - 1;
  }
  return address < maps[lo].end ? maps[lo] : undefined;
}

/**
 * Whether a mapping holds code a stack can point into.
 *
 * @param m A mapping.
 * @returns True when it is executable.
 * @example
 * ```ts
 * isExecutable(m); // m.perms[2] === "x"
 * ```
 */
export function isExecutable(m: Mapping): boolean {
  return m.perms[2] === "x";
}
