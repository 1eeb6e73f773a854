/**
 * How the shell prints: aligned tables by default, one JSON object per line with `--json`,
 * YAML documents with `--yaml`; colours only on a terminal and never with NO_COLOR.
 *
 * Every command prints through one {@link Output}, so a format flag works on every listing,
 * every stream and every error.
 *
 * @module
 */

/** The three output formats. */
export type Format = "table" | "json" | "yaml";

/** A row of a table: column name to value. */
export type Row = Record<string, unknown>;

/** What an {@link Output} is built from. */
export interface OutputInit {
  /** The format; `"table"` when absent. */
  format?: Format;
  /** Whether to colour; by default only on a terminal without NO_COLOR. */
  color?: boolean;
  /** Where normal output goes; stdout when absent. */
  write?: (text: string) => void;
  /** Where diagnostics go; stderr when absent. */
  writeErr?: (text: string) => void;
}

/** The parts of an error line. */
export interface ErrorLine {
  /** The command that failed, e.g. `"map dump"`. */
  command: string;
  /** The cause, in words. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** A symbolic errno code, e.g. `"ENOENT"`. */
  code?: string;
  /** The usage of the command, printed after a user error. */
  usage?: string;
  /** The last lines of a verifier / compiler log, printed before the error line. */
  log?: string[];
}

const encoder = new TextEncoder();

/**
 * Write all of a string to a file synchronously (writeSync may write less than asked).
 *
 * @param file The file, e.g. `Deno.stdout`.
 * @param text What to write.
 * @example
 * ```ts
 * writeAll(Deno.stdout, "hello\n");
 * ```
 */
export function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) {
    const n = file.writeSync(bytes);
    bytes = bytes.subarray(n);
  }
}

/**
 * Whether colours should be used on stdout: a terminal, and NO_COLOR unset.
 *
 * @returns True when colouring is allowed.
 * @example
 * ```ts
 * const out = new Output({ color: colorWanted() });
 * ```
 */
export function colorWanted(): boolean {
  if (Deno.env.get("NO_COLOR") !== undefined && Deno.env.get("NO_COLOR") !== "") return false;
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** ANSI styles used by the shell. */
const STYLES = {
  bold: ["\x1b[1m", "\x1b[22m"],
  dim: ["\x1b[2m", "\x1b[22m"],
  red: ["\x1b[31m", "\x1b[39m"],
  green: ["\x1b[32m", "\x1b[39m"],
  yellow: ["\x1b[33m", "\x1b[39m"],
  cyan: ["\x1b[36m", "\x1b[39m"],
} as const;

/** A style name. */
export type Style = keyof typeof STYLES;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Bytes as lower-case hex without separators.
 *
 * @param bytes The bytes.
 * @returns e.g. `"deadbeef"`.
 * @example
 * ```ts
 * toHex(new Uint8Array([222, 173])); // "dead"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX[b];
  return s;
}

/**
 * One value as the text of a table cell: structs as `{a: 1}`, bytes as hex, nothing as `-`.
 *
 * @param v Any decoded value.
 * @returns Its compact text.
 * @example
 * ```ts
 * formatCell({ pid: 1, comm: "sh" }); // '{pid: 1, comm: "sh"}'
 * ```
 */
export function formatCell(v: unknown): string {
  return cell(v, true);
}

function cell(v: unknown, top: boolean): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "string") return top ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof Uint8Array) return toHex(v);
  if (ArrayBuffer.isView(v)) return arrayCell(Array.from(v as unknown as ArrayLike<number>));
  if (Array.isArray(v)) return arrayCell(v);
  if (v instanceof Map) {
    return `{${[...v].map(([k, x]) => `${cell(k, false)}: ${cell(x, false)}`).join(", ")}}`;
  }
  if (v instanceof Error) return v.message;
  if (typeof v === "object") {
    return `{${Object.entries(v).map(([k, x]) => `${k}: ${cell(x, false)}`).join(", ")}}`;
  }
  return String(v);
}

/** How many elements of a long array a cell shows. */
const ARRAY_SHOWN = 16;
/** How many characters of a byte array read as text a cell shows. */
const TEXT_SHOWN = 64;

/**
 * An array as a cell: a byte array (8 or more integers from 0 to 255, as a BTF `u8[]`
 * decodes) as text when it reads as text, else as hex, trailing zeros dropped; a run of one
 * value as `[0 × 40]`; a long array cut after its first elements.
 */
function arrayCell(v: unknown[]): string {
  const byte = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 255;
  if (v.length >= 8 && v.every(byte)) return bytesCell(v as number[]);
  if (v.length > 4 && (typeof v[0] === "number" || typeof v[0] === "bigint")) {
    if (v.every((x) => x === v[0])) return `[${String(v[0])} × ${v.length}]`;
  }
  const shown = v.slice(0, ARRAY_SHOWN).map((x) => cell(x, false)).join(", ");
  return `[${shown}${v.length > ARRAY_SHOWN ? `, … ${v.length - ARRAY_SHOWN} more` : ""}]`;
}

function bytesCell(bytes: number[]): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  if (end === 0) return `[0 × ${bytes.length}]`;
  const body = bytes.slice(0, end);
  const more = (n: number, unit: string) => n > 0 ? `… (${n} more ${unit})` : "";
  if (body.every((b) => b === 0 || b === 9 || b === 10 || (b >= 32 && b < 127))) {
    const text = String.fromCharCode(...body.slice(0, TEXT_SHOWN))
      .replaceAll("\\", "\\\\").replaceAll("\0", "\\0").replaceAll("\n", "\\n")
      .replaceAll("\t", "\\t").replaceAll('"', '\\"');
    return `"${text}"${more(end - TEXT_SHOWN, "bytes")}`;
  }
  return toHex(Uint8Array.from(body.slice(0, TEXT_SHOWN / 2))) +
    more(end - TEXT_SHOWN / 2, "bytes");
}

/**
 * A value made JSON-safe: bigints as numbers when exact (else decimal strings), bytes as hex,
 * Maps as objects.
 *
 * @param v Any decoded value.
 * @returns A value `JSON.stringify` accepts without loss of meaning.
 * @example
 * ```ts
 * JSON.stringify(jsonSafe({ n: 5n, big: 1n << 60n })); // '{"n":5,"big":"1152921504606846976"}'
 * ```
 */
export function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  if (v === undefined) return null;
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return toHex(v);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, jsonSafe);
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonSafe(x)]));
  if (v instanceof Error) return v.message;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = jsonSafe(x);
  return o;
}

function isNumeric(v: unknown): boolean {
  return typeof v === "number" || typeof v === "bigint";
}

/** The visible width of a string, ignoring ANSI escapes. */
function width(s: string): number {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** Lazily loaded `yaml` module: only `--yaml` pays for it. */
let yamlModule: typeof import("yaml") | undefined;

/**
 * Load the YAML library once; call before printing in YAML.
 *
 * @returns The yaml module.
 * @example
 * ```ts
 * const { stringify } = await loadYaml();
 * ```
 */
export async function loadYaml(): Promise<typeof import("yaml")> {
  yamlModule ??= await import("yaml");
  return yamlModule;
}

/**
 * The printer all commands share.
 *
 * @example
 * ```ts
 * const out = new Output({ format: "json" });
 * out.table([{ name: "counts", entries: 3 }]); // {"name":"counts","entries":3}
 * ```
 */
export class Output {
  /** The current format. */
  format: Format;
  /** Whether colours are on. */
  color: boolean;
  /** The format was chosen on the command line: sessions must not change it. */
  fixedFormat: boolean;
  readonly #write: (text: string) => void;
  readonly #writeErr: (text: string) => void;
  /** The header of the stream being printed in table mode, and its column widths. */
  #stream?: { columns: string[]; widths: number[] };

  constructor(init: OutputInit = {}) {
    this.format = init.format ?? "table";
    this.fixedFormat = init.format !== undefined;
    this.color = init.color ?? colorWanted();
    this.#write = init.write ?? ((t) => writeAll(Deno.stdout, t));
    this.#writeErr = init.writeErr ?? ((t) => writeAll(Deno.stderr, t));
  }

  /** Text in a style, when colours are on. */
  style(name: Style, text: string): string {
    if (!this.color) return text;
    const [on, off] = STYLES[name];
    return on + text + off;
  }

  /** Raw text to stdout (no newline added). */
  raw(text: string): void {
    this.#write(text);
  }

  /** A line to stdout. */
  line(text = ""): void {
    this.#write(text + "\n");
  }

  /**
   * A status message (e.g. "attached on_exec"): a dim line on stdout in table mode, and on
   * stderr in JSON/YAML so that stdout stays parseable.
   */
  info(text: string): void {
    if (this.format === "table") this.line(this.style("dim", text));
    else this.#writeErr(text + "\n");
  }

  /** A line to stderr. */
  err(text: string): void {
    this.#writeErr(text + "\n");
  }

  /** YAML text of a value (the yaml module must have been loaded, see {@link loadYaml}). */
  #yaml(v: unknown): string {
    if (!yamlModule) return JSON.stringify(jsonSafe(v), null, 2) + "\n";
    return yamlModule.stringify(jsonSafe(v));
  }

  /**
   * Rows as an aligned table (numbers right-aligned), JSON lines, or a YAML list.
   *
   * @param rows The rows; columns are the union of their keys, in first-seen order.
   * @param opts `columns` to fix the order, `empty` to print when there are no rows.
   */
  table(rows: Row[], opts: { columns?: string[]; empty?: string } = {}): void {
    if (this.format === "json") {
      for (const r of rows) this.line(JSON.stringify(jsonSafe(r)));
      return;
    }
    if (this.format === "yaml") {
      if (rows.length) this.raw(this.#yaml(rows));
      else this.line("[]");
      return;
    }
    if (rows.length === 0) {
      if (opts.empty) this.line(this.style("dim", opts.empty));
      return;
    }
    const columns = opts.columns ?? columnsOf(rows);
    const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
    const right = columns.map((c) => rows.every((r) => r[c] === undefined || isNumeric(r[c])));
    const widths = columns.map((c, i) => Math.max(width(c), ...cells.map((row) => width(row[i]))));
    const pad = (s: string, i: number) => {
      const fill = " ".repeat(Math.max(0, widths[i] - width(s)));
      return right[i] ? fill + s : s + fill;
    };
    const header = columns.map((c, i) => pad(c.toUpperCase(), i)).join("  ").trimEnd();
    this.line(this.style("bold", header));
    for (const row of cells) this.line(row.map(pad).join("  ").trimEnd());
  }

  /**
   * One record: `key: value` lines in table mode, one JSON line, or a YAML mapping.
   *
   * @param rec The record.
   */
  record(rec: Row): void {
    if (this.format === "json") return this.line(JSON.stringify(jsonSafe(rec)));
    if (this.format === "yaml") return this.raw(this.#yaml(rec));
    const keys = Object.keys(rec);
    const w = Math.max(0, ...keys.map((k) => k.length));
    for (const k of keys) {
      this.line(`${this.style("bold", (k + ":").padEnd(w + 1))} ${formatCell(rec[k])}`);
    }
  }

  /**
   * One value: JSON line, YAML document, or its cell text.
   *
   * @param v The value.
   */
  value(v: unknown): void {
    if (this.format === "json") return this.line(JSON.stringify(jsonSafe(v)));
    if (this.format === "yaml") return this.raw(this.#yaml(v));
    this.line(formatCell(v));
  }

  /** Start a stream of events: table mode prints a header on the first event. */
  beginStream(): void {
    this.#stream = undefined;
  }

  /**
   * One event of a stream (tail, trace): a row under a header printed once, a JSON line, or
   * a YAML document.
   *
   * @param ev The decoded event: an object is split into columns.
   */
  event(ev: unknown): void {
    const row: Row = ev !== null && typeof ev === "object" && !Array.isArray(ev) &&
        !ArrayBuffer.isView(ev)
      ? ev as Row
      : { data: ev };
    if (this.format === "json") return this.line(JSON.stringify(jsonSafe(row)));
    if (this.format === "yaml") return this.raw("---\n" + this.#yaml(row));
    if (!this.#stream) {
      const columns = Object.keys(row);
      const cells = columns.map((c) => formatCell(row[c]));
      // Room for typical values (pids, 16-char comms) so later rows stay aligned.
      const widths = columns.map((c, i) =>
        Math.max(
          c.length,
          cells[i].length,
          isNumeric(row[c]) ? 7 : typeof row[c] === "string" ? 16 : 0,
        )
      );
      this.#stream = { columns, widths };
      this.line(
        this.style(
          "bold",
          columns.map((c, i) => c.toUpperCase().padEnd(widths[i])).join("  ").trimEnd(),
        ),
      );
    }
    const { columns, widths } = this.#stream;
    const cells = columns.map((c) => formatCell(row[c]));
    this.line(
      cells.map((s, i) => {
        if (s.length > widths[i] && i < widths.length - 1) widths[i] = s.length;
        return s.padEnd(widths[i]);
      }).join("  ").trimEnd(),
    );
  }

  /**
   * An error: one line on stderr (`error: CMD: cause (hint: ...)`, then the usage), or one
   * `{"error": ...}` JSON line on stdout in JSON mode.
   *
   * @param e The parts of the error.
   */
  error(e: ErrorLine): void {
    if (this.format === "json") {
      const o: Row = { error: e.message, command: e.command || e.message.split(/[ :]/)[0] };
      if (e.code) o.code = e.code;
      if (e.hint) o.hint = e.hint;
      if (e.usage) o.usage = e.usage;
      if (e.log) o.log = e.log;
      return this.line(JSON.stringify(o));
    }
    for (const l of e.log ?? []) this.err(this.style("dim", `  ${l}`));
    let text = `${this.style("red", "error:")} ${e.command ? e.command + ": " : ""}${e.message}`;
    if (e.hint) text += ` ${this.style("dim", `(hint: ${e.hint})`)}`;
    this.err(text);
    if (e.usage) this.err(`usage: ${e.usage}`);
  }
}

/**
 * The union of the rows' keys, in first-seen order.
 *
 * @param rows The rows.
 * @returns The column names.
 * @example
 * ```ts
 * columnsOf([{ a: 1 }, { b: 2 }]); // ["a", "b"]
 * ```
 */
export function columnsOf(rows: Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}
