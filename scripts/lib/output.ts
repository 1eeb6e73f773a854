/**
 * Output of the tracing scripts: aligned columns like bcc's tools (`%-16s %-7d …`), or one
 * JSON object per line with `--json`. bigints become numbers when they fit exactly.
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
}

/** Where lines go: console.log by default; tests may collect them. */
export type LineSink = (line: string) => void;

/**
 * A value as JSON allows: bigints as numbers when safe, else as strings.
 *
 * @param _key The JSON key (unused).
 * @param v The value.
 * @returns What JSON.stringify should write.
 * @example
 * ```ts
 * JSON.stringify({ n: 5n }, jsonValue); // '{"n":5}'
 * ```
 */
export function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === "bigint") {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  return v;
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
      if (!c.width) return text;
      if (c.align === "right") return text.padStart(c.width);
      return i === last ? text : text.padEnd(c.width);
    }).join(" ").trimEnd();
  }
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(cell).join(" ");
  return String(v);
}
