/**
 * The common filters (`--pid`, `--uid`, `--comm`) set on a script's object before load, as
 * the `const volatile` globals of scripts/lib/filter.bpf.h.
 *
 * @module
 */

import type { BpfObject } from "../../mod.ts";
import { type Args, UsageError } from "./cli.ts";

/** The filters of one run; absent ones are off. */
export interface Filters {
  /** A process id (the tgid). */
  pid?: number;
  /** A user id. */
  uid?: number;
  /** A command name (at most 15 characters, as the kernel keeps it). */
  comm?: string;
}

/**
 * The filters given on the command line.
 *
 * @param args The parsed arguments.
 * @returns The filters.
 * @throws {UsageError} For a bad pid or uid, or a name longer than the kernel keeps.
 * @example
 * ```ts
 * filtersOf(args); // { pid: 1234 }
 * ```
 */
export function filtersOf(args: Args): Filters {
  const comm = args.str("comm");
  if (comm !== undefined && (comm.length === 0 || new TextEncoder().encode(comm).length > 15)) {
    throw new UsageError(
      `invalid --comm '${comm}': a command name has 1 to 15 bytes (the kernel's TASK_COMM_LEN)`,
    );
  }
  return {
    pid: args.int("pid", 1),
    uid: args.int("uid", 0, 0xfffffffe),
    comm,
  };
}

/**
 * Set the filters as globals of an object that includes filter.bpf.h (before load).
 *
 * @param obj The opened, not yet loaded object.
 * @param f The filters.
 * @example
 * ```ts
 * applyFilters(obj, { comm: "bash" });
 * obj.load();
 * ```
 */
export function applyFilters(obj: BpfObject, f: Filters): void {
  if (f.pid !== undefined) obj.globals.filter_pid = f.pid;
  if (f.uid !== undefined) obj.globals.filter_uid = f.uid;
  if (f.comm !== undefined) obj.globals.filter_comm = f.comm;
}

/**
 * The filters in words, for the "Tracing …" line.
 *
 * @param f The filters.
 * @returns E.g. `" (pid 42, comm bash)"`, or `""` with none.
 * @example
 * ```ts
 * describeFilters({ pid: 42 }); // " (pid 42)"
 * ```
 */
export function describeFilters(f: Filters): string {
  const parts: string[] = [];
  if (f.pid !== undefined) parts.push(`pid ${f.pid}`);
  if (f.uid !== undefined) parts.push(`uid ${f.uid}`);
  if (f.comm !== undefined) parts.push(`comm ${f.comm}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** The fields of an event each filter reads, in the order they are looked for. */
const EVENT_FIELDS: Record<keyof Filters, string[]> = {
  pid: ["pid", "tgid"],
  uid: ["uid"],
  comm: ["comm", "command", "task"],
};

/**
 * The filters applied to decoded events, for scripts that read objects they did not write (the
 * filter then runs here, not in the kernel): `pid` (or `tgid`), `uid`, `comm` (or `command`,
 * `task`) fields of each event.
 *
 * @param f The filters.
 * @returns Whether an event passes.
 * @throws {UsageError} At the first event, when a filter asks for a field it does not have.
 * @example
 * ```ts
 * const pass = eventMatcher({ comm: "bash" });
 * pass({ pid: 1, comm: "bash" }); // true
 * ```
 */
export function eventMatcher(f: Filters): (ev: unknown) => boolean {
  const wanted = (Object.keys(EVENT_FIELDS) as (keyof Filters)[]).filter((k) => f[k] !== undefined);
  if (!wanted.length) return () => true;
  let fields: [keyof Filters, string][] | undefined;
  return (ev) => {
    const o = (ev ?? {}) as Record<string, unknown>;
    fields ??= wanted.map((k) => {
      const field = EVENT_FIELDS[k].find((n) => n in o);
      if (!field) {
        throw new UsageError(
          `--${k}: the events have no ${EVENT_FIELDS[k].join(" or ")} field (they have: ${
            Object.keys(o).join(", ") || "no fields"
          })`,
        );
      }
      return [k, field];
    });
    return fields.every(([k, field]) => String(o[field]) === String(f[k]));
  };
}
