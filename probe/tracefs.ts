/**
 * Tracepoints from tracefs: the list of events (`available_events`) and each event's
 * record layout (`events/CAT/NAME/format`), with field types given the way bpftrace gives
 * them: the declared C type, widened to 64 bits where the kernel stores a 32-bit syscall
 * argument in an 8-byte slot (`int` → int64, `unsigned int`/`pid_t`/… → uint64).
 *
 * @module
 */

import { pathExists } from "../bpf/system/files.ts";
import { ensureTracefs, TRACEFS_PATH } from "../bpf/system/mounts.ts";
import type { Ty } from "./types.ts";

/** One field of a tracepoint record. */
export interface TracepointField {
  /** The field name. */
  name: string;
  /** The C declaration's type as tracefs prints it, e.g. `"const char *"`. */
  cType: string;
  /** The whole declaration, e.g. `"char prev_comm[16]"` (what `-lv` prints). */
  decl: string;
  /** Byte offset in the record. */
  offset: number;
  /** Bytes the record gives it. */
  size: number;
  /** The value type bpftrace gives it (`ptr`, `str`, `int`); undefined when unsupported. */
  ty?: Ty;
  /** How many bytes an integer read takes (may be less than `size`, as in bpftrace). */
  readSize: number;
  /** For `int` arrays: the element type and count. */
  array?: { elem: Ty; elemSize: number; count: number };
  /** A `__data_loc char[]` field: a u32 holding the string's offset (low 16 bits). */
  dataLoc?: boolean;
}

/** A tracepoint's record layout. */
export interface TracepointFormat {
  category: string;
  event: string;
  /** The event id. */
  id: number;
  /** Every field, common ones (`common_pid`, …) included, in offset order. */
  fields: TracepointField[];
  /** The record size (end of the last field). */
  size: number;
}

let eventsMemo: string[] | undefined;
let unsortedMemo: string[] | undefined;
const formatMemo = new Map<string, TracepointFormat | null>();

/**
 * Every tracepoint of the running kernel, as `CATEGORY:NAME`, sorted.
 *
 * @returns The names (read once per process).
 * @example
 * ```ts
 * tracepoints().includes("syscalls:sys_enter_openat"); // true
 * ```
 */
export function tracepoints(): string[] {
  eventsMemo ??= availableEvents().slice().sort();
  return eventsMemo;
}

/**
 * The tracepoints a pattern matches, sorted: sorting only the matches is cheaper than
 * sorting the kernel's thousands of tracepoints, which a wildcard one-liner's start waits on.
 *
 * @param re A `CATEGORY:NAME` pattern (from a glob).
 * @returns The matching names.
 * @example
 * ```ts
 * tracepointsMatching(/^syscalls:sys_enter_open/); // ["syscalls:sys_enter_open", …]
 * ```
 */
export function tracepointsMatching(re: RegExp): string[] {
  return (eventsMemo ?? availableEvents()).filter((n) => re.test(n)).sort();
}

/** available_events' lines, in the kernel's order (read once per process). */
function availableEvents(): string[] {
  if (!unsortedMemo) {
    let text = "";
    try {
      text = Deno.readTextFileSync(`${tracefsRoot()}/available_events`);
    } catch {
      text = "";
    }
    unsortedMemo = text.split("\n").filter((l) => l.includes(":"));
  }
  return unsortedMemo;
}

/**
 * The tracefs mount point (mounted when needed): the usual one when tracefs is there (its
 * `events` directory), which saves reading the mount table.
 *
 * @returns The mount point.
 * @example
 * ```ts
 * `${tracefsRoot()}/available_events`;
 * ```
 */
export function tracefsRoot(): string {
  if (pathExists(`${TRACEFS_PATH}/events`)) return TRACEFS_PATH;
  try {
    return ensureTracefs();
  } catch {
    return "/sys/kernel/tracing";
  }
}

/**
 * The layout of one tracepoint's records.
 *
 * @param category The category, e.g. `"syscalls"`.
 * @param event The event, e.g. `"sys_enter_openat"`.
 * @returns The format, or undefined when the tracepoint does not exist.
 * @example
 * ```ts
 * tracepointFormat("syscalls", "sys_enter_openat")?.fields.map((f) => f.name);
 * ```
 */
export function tracepointFormat(category: string, event: string): TracepointFormat | undefined {
  const key = `${category}:${event}`;
  if (!formatMemo.has(key)) {
    let text: string | undefined;
    try {
      text = Deno.readTextFileSync(`${tracefsRoot()}/events/${category}/${event}/format`);
    } catch {
      text = undefined;
    }
    formatMemo.set(key, text === undefined ? null : parseFormat(category, event, text));
  }
  return formatMemo.get(key) ?? undefined;
}

/**
 * Whether the running kernel has a tracepoint: its format file is there (not read, unless
 * it was already).
 *
 * @param category The category, e.g. `"syscalls"`.
 * @param event The event, e.g. `"sys_enter_openat"`.
 * @returns True when it exists.
 * @example
 * ```ts
 * tracepointExists("syscalls", "sys_enter_openat"); // true
 * ```
 */
export function tracepointExists(category: string, event: string): boolean {
  const known = formatMemo.get(`${category}:${event}`);
  if (known !== undefined) return known !== null;
  try {
    return Deno.statSync(`${tracefsRoot()}/events/${category}/${event}/format`).isFile;
  } catch {
    return false;
  }
}

/**
 * Parse the text of a tracefs `format` file.
 *
 * @param category The category.
 * @param event The event.
 * @param text The file's contents.
 * @returns The layout.
 * @example
 * ```ts
 * parseFormat("x", "y", "ID: 1\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n");
 * ```
 */
export function parseFormat(category: string, event: string, text: string): TracepointFormat {
  const fields: TracepointField[] = [];
  const id = Number(/^ID:\s*(\d+)/m.exec(text)?.[1] ?? 0);
  const re = /field:([^;]+);\s*offset:(\d+);\s*size:(\d+);\s*signed:([01]);/g;
  for (const m of text.matchAll(re)) {
    const decl = m[1].trim();
    const offset = Number(m[2]);
    const size = Number(m[3]);
    const signed = m[4] === "1";
    fields.push(typeField(category, decl, offset, size, signed));
  }
  const size = fields.reduce((n, f) => Math.max(n, f.offset + f.size), 0);
  return { category, event, id, fields, size };
}

/** Integer types by C spelling: [bits, signed]. */
const INT_TYPES: Record<string, [8 | 16 | 32 | 64, boolean]> = {
  "char": [8, true],
  "signed char": [8, true],
  "unsigned char": [8, false],
  "bool": [8, false],
  "_Bool": [8, false],
  "short": [16, true],
  "short int": [16, true],
  "signed short": [16, true],
  "unsigned short": [16, false],
  "short unsigned int": [16, false],
  "int": [32, true],
  "signed": [32, true],
  "signed int": [32, true],
  "unsigned": [32, false],
  "unsigned int": [32, false],
  "long": [64, true],
  "long int": [64, true],
  "unsigned long": [64, false],
  "long unsigned int": [64, false],
  "long long": [64, true],
  "long long int": [64, true],
  "unsigned long long": [64, false],
  "long long unsigned int": [64, false],
  // Kernel typedefs whose size is fixed on 64-bit Linux.
  "pid_t": [32, true],
  "tid_t": [32, false],
  "uid_t": [32, false],
  "gid_t": [32, false],
  "umode_t": [16, false],
  "size_t": [64, false],
  "ssize_t": [64, true],
  "loff_t": [64, true],
  "off_t": [64, true],
  "dev_t": [32, false],
  "ino_t": [64, false],
  "sector_t": [64, false],
  "gfp_t": [32, false],
  "clockid_t": [32, true],
  "timer_t": [32, true],
  "mqd_t": [32, true],
  "key_t": [32, true],
  "key_serial_t": [32, true],
  "qid_t": [32, false],
  "rwf_t": [32, true],
  "aio_context_t": [64, false],
  "time64_t": [64, true],
  "ktime_t": [64, true],
  "uint": [32, false],
};
for (const bits of [8, 16, 32, 64] as const) {
  for (const name of [`u${bits}`, `__u${bits}`, `uint${bits}_t`]) INT_TYPES[name] = [bits, false];
  for (const name of [`s${bits}`, `__s${bits}`, `int${bits}_t`]) INT_TYPES[name] = [bits, true];
}

/** bpftrace's adjustment: 32-bit types in 8-byte slots are read as 64-bit. */
const WIDENED: Record<string, boolean> = {
  "int": true,
  "unsigned int": false,
  "unsigned": false,
  "u32": false,
  "pid_t": false,
  "uid_t": false,
  "gid_t": false,
};

function typeField(
  category: string,
  decl: string,
  offset: number,
  size: number,
  signed: boolean,
): TracepointField {
  const m = /^(.*?)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\[(\d*)\])?$/.exec(decl);
  const base = (m?.[1] ?? decl).trim();
  const name = m?.[2] ?? decl;
  const field: TracepointField = { name, cType: base, decl, offset, size, readSize: size };
  const bare = base.replace(/\b(const|volatile)\b/g, "").replace(/\s+/g, " ").trim();
  if (/^__data_loc\b/.test(bare)) {
    field.cType = decl.replace(new RegExp(`\\s*${name}\\s*$`), "");
    if (/^__data_loc\s+(unsigned )?char\s*\[\]$/.test(bare)) {
      field.dataLoc = true;
      field.readSize = 4;
      field.ty = { k: "ptr", to: "char", user: false };
    }
    return field;
  }
  if (m?.[3]) {
    field.cType = `${base}[${m[4] ?? ""}]`;
    if (/^(unsigned )?char$/.test(bare)) {
      field.ty = { k: "str", size };
      return field;
    }
    const elem = INT_TYPES[bare];
    const count = Number(m[4] || 0);
    if (elem && count > 0 && size % count === 0 && size / count === elem[0] / 8) {
      field.array = {
        elem: { k: "int", bits: elem[0], signed: elem[1] },
        elemSize: size / count,
        count,
      };
    }
    return field;
  }
  if (bare.includes("*")) {
    field.ty = { k: "ptr", to: bare.replace(/\s*\*\s*$/, ""), user: category === "syscalls" };
    field.readSize = 8;
    return field;
  }
  // bpftrace matches the declared spelling exactly (so `const int` stays 32-bit).
  if (size === 8 && base in WIDENED) {
    field.ty = { k: "int", bits: 64, signed: WIDENED[base] };
    return field;
  }
  const known = INT_TYPES[bare] ?? (/^enum /.test(bare) ? undefined : undefined);
  if (known && known[0] / 8 <= size) {
    field.ty = { k: "int", bits: known[0], signed: known[1] };
    field.readSize = known[0] / 8;
    return field;
  }
  if ([1, 2, 4, 8].includes(size)) {
    field.ty = { k: "int", bits: (size * 8) as 8 | 16 | 32 | 64, signed };
  }
  return field;
}
