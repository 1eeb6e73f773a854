/**
 * Output of the tracing scripts: aligned columns like bcc's tools (`%-16s %-7d …`), or one
 * JSON object per line with `--json`; events of any shape as `key=value` pairs. bigints
 * become numbers when they fit exactly, byte arrays lists of numbers.
 *
 * @module
 */

/** One column of a table. */
export interface Column {
  /** The record's key. */
  key: string;
  /** The header, e.g. `"PCOMM"` (default: the key in capitals). */
  title?: string;
  /** The width the column is padded to (a left-aligned last column is not padded). */
  width?: number;
  /** `"right"` for numbers printed like `%6d`; default left. */
  align?: "left" | "right";
  /** Spaces before the column (default 1; the first column has none). */
  gap?: number;
}

/** Where lines go: console.log by default; tests may collect them. */
export type LineSink = (line: string) => void;

/**
 * A value as JSON allows: bigints as numbers when safe, else as strings; a `Uint8Array`
 * (an event without a BTF type) as a list of numbers rather than an object of indexes.
 *
 * @param _key The JSON key (unused).
 * @param v The value.
 * @returns What JSON.stringify should write.
 * @example
 * ```ts
 * JSON.stringify({ n: 5n, b: new Uint8Array([1, 2]) }, jsonValue); // '{"n":5,"b":[1,2]}'
 * ```
 */
export function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  if (v instanceof Uint8Array) return [...v];
  return v;
}

/**
 * An event of any shape as one line: a JSON object, or `key=value` pairs (nested objects
 * inline, bytes in hex) for a decoded struct whose fields no table foresees.
 *
 * @param ev The event: a decoded struct, a `Uint8Array`, or a plain value.
 * @param json Whether to write JSON.
 * @returns The line.
 * @example
 * ```ts
 * formatEvent({ pid: 42, comm: "bash" });             // "pid=42 comm=bash"
 * formatEvent(new Uint8Array([1, 171]));              // "01ab"
 * formatEvent({ ts: 5n, raw: new Uint8Array([1]) }, true); // '{"ts":5,"raw":[1]}'
 * ```
 */
export function formatEvent(ev: unknown, json = false): string {
  if (json) return JSON.stringify(ev, jsonValue);
  if (ev instanceof Uint8Array) return [...ev].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (ev && typeof ev === "object") {
    return Object.entries(ev).map(([k, v]) => `${k}=${formatEvent(v)}`).join(" ");
  }
  return String(ev);
}

/**
 * Prints records as a table with a header, or as JSON lines.
 *
 * @example
 * ```ts
 * const out = new RecordPrinter([{ key: "pid", width: 7 }, { key: "args" }], { json: false });
 * out.header();            // PID     ARGS
 * out.row({ pid: 42, args: "/bin/true" });
 * ```
 */
export class RecordPrinter {
  /** The columns, in order. */
  readonly columns: Column[];
  /** Whether records are printed as JSON lines. */
  readonly json: boolean;
  readonly #sink: LineSink;

  /**
   * @param columns The table's columns (JSON lines carry every key of the record).
   * @param opts `json` for JSON lines; `sink` to collect lines instead of printing them.
   * @example
   * ```ts
   * new RecordPrinter([{ key: "comm", title: "COMM", width: 16 }], { json: true });
   * ```
   */
  constructor(columns: Column[], opts: { json?: boolean; sink?: LineSink } = {}) {
    this.columns = columns;
    this.json = opts.json ?? false;
    this.#sink = opts.sink ?? ((l) => console.log(l));
  }

  /**
   * Print the header line (nothing in JSON mode).
   *
   * @example
   * ```ts
   * out.header();
   * ```
   */
  header(): void {
    if (this.json) return;
    this.#sink(this.#line(this.columns.map((c) => c.title ?? c.key.toUpperCase())));
  }

  /**
   * Print one record.
   *
   * @param rec The record; table mode shows the columns' keys, JSON mode every key.
   * @example
   * ```ts
   * out.row({ pid: 1, comm: "init" });
   * ```
   */
  row(rec: Record<string, unknown>): void {
    if (this.json) {
      this.#sink(JSON.stringify(rec, jsonValue));
      return;
    }
    this.#sink(this.#line(this.columns.map((c) => cell(rec[c.key]))));
  }

  #line(cells: string[]): string {
    const last = cells.length - 1;
    return cells.map((text, i) => {
      const c = this.columns[i];
      const gap = i === 0 ? "" : " ".repeat(c.gap ?? 1);
      if (!c.width) return gap + text;
      if (c.align === "right") return gap + text.padStart(c.width);
      return gap + (i === last ? text : text.padEnd(c.width));
    }).join("").trimEnd();
  }
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(cell).join(" ");
  return String(v);
}
