/**
 * bpftrace's `-f json` output: one JSON object per line, `{"type": ..., "data": ...}`,
 * with the same spacing and key order as bpftrace, so consumers of its output read ours.
 *
 * @module
 */

import { bucketRange } from "../aggregations.ts";
import type { MapEntry, MapSnapshot } from "../read.ts";
import { nonEmptyBuckets, type PrintOptions, valueText } from "./text.ts";

/**
 * bpftrace's JSON string escaping (quotes included).
 *
 * @param s The string.
 * @returns The JSON string literal.
 * @example
 * ```ts
 * jsonString('a"b\n'); // "\"a\\\"b\\n\""
 * ```
 */
export function jsonString(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (c === '"') out += '\\"';
    else if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (code <= 0x1f) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += c;
  }
  return out + '"';
}

/**
 * One event line: `{"type": "printf", "data": "..."}`.
 *
 * @param type The message type.
 * @param data Its data, already JSON.
 * @returns The line (no newline).
 * @example
 * ```ts
 * jsonEvent("attached_probes", '{"probes": 2}');
 * ```
 */
export function jsonEvent(type: string, data: string): string {
  return `{"type": ${jsonString(type)}, "data": ${data}}`;
}

/**
 * A map as bpftrace's JSON output has it, or undefined for an empty map (not printed).
 *
 * @param snap The map's contents, sorted.
 * @param opts `top` and `div`.
 * @returns The line (no newline).
 * @example
 * ```ts
 * formatMapJson(snapshot); // {"type": "map", "data": {"@": {"bash": 3}}}
 * ```
 */
export function formatMapJson(snap: MapSnapshot, opts: PrintOptions = {}): string | undefined {
  const { spec } = snap;
  let entries = snap.entries;
  if (!entries.length) return undefined;
  if (opts.top && entries.length > opts.top) entries = entries.slice(entries.length - opts.top);
  const div = BigInt(opts.div || 1);
  const type = spec.kind === "hist" || spec.kind === "lhist"
    ? "hist"
    : spec.kind === "avg" || spec.kind === "stats"
    ? "stats"
    : "map";
  const values = entries.map((e) => {
    const v = valueJson(snap, e, div);
    return spec.keys.length ? `${jsonString(e.keyText.join(","))}: ${v}` : v;
  });
  const body = spec.keys.length ? `{${values.join(", ")}}` : values.join(", ");
  return jsonEvent(type, `{${jsonString(spec.name)}: ${body}}`);
}

function valueJson(snap: MapSnapshot, e: MapEntry, div: bigint): string {
  const v = e.value;
  switch (v.kind) {
    case "count":
    case "sum":
    case "min":
    case "max":
    case "avg":
      return valueText(v, div);
    case "stats":
      return `{"count": ${v.count}, "average": ${v.average}, "total": ${v.total}}`;
    case "value":
      return typeof v.value === "bigint"
        ? (v.value / div).toString()
        : jsonString(v.text ?? String(v.value));
    case "hist":
    case "lhist": {
      const range = nonEmptyBuckets(v.buckets);
      if (!range) return "[]";
      const [first, last] = range;
      const items: string[] = [];
      for (let i = first; i <= last; i++) {
        const [lo, hi] = bucketRange(v.kind, i, snap.spec.lhist);
        const parts: string[] = [];
        if (lo !== undefined) parts.push(`"min": ${lo}`);
        if (hi !== undefined) parts.push(`"max": ${hi}`);
        const count = v.kind === "hist" ? v.buckets[i] / div : v.buckets[i];
        parts.push(`"count": ${count}`);
        items.push(`{${parts.join(", ")}}`);
      }
      return `[${items.join(", ")}]`;
    }
  }
}
