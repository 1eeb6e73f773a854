/**
 * Attach points as bpftrace spells them, parsed into what they name: `tracepoint:CAT:NAME`
 * (`t:`), `rawtracepoint:NAME` (`rt:`), `uprobe:BIN:SYM` (`u:`), `uretprobe:BIN:SYM` (`ur:`),
 * `kprobe:FN` (`k:`), `kretprobe:FN` (`kr:`), `kfunc:FN` (`f:`), `kretfunc:FN` (`fr:`),
 * `profile:hz:N` (`p:`), `interval:s:N` (`i:`), `BEGIN`, `END`. Pure text work.
 *
 * @module
 */

import { fail, type SourceText, type Span } from "./diagnostic.ts";

/** A parsed attach point. Names may hold `*` and `?` wildcards where noted. */
export type AttachPoint =
  | { provider: "BEGIN" | "END" }
  | { provider: "tracepoint"; category: string; event: string }
  | { provider: "rawtracepoint"; event: string }
  | { provider: "uprobe" | "uretprobe"; binary: string; func: string; offset: number }
  | { provider: "kprobe" | "kretprobe"; func: string; offset: number }
  | { provider: "kfunc" | "kretfunc"; func: string }
  | { provider: "profile" | "interval"; unit: "hz" | "s" | "ms" | "us"; rate: number };

/** Provider names and their short aliases. */
const ALIASES: Record<string, AttachPoint["provider"]> = {
  BEGIN: "BEGIN",
  END: "END",
  tracepoint: "tracepoint",
  t: "tracepoint",
  rawtracepoint: "rawtracepoint",
  rt: "rawtracepoint",
  uprobe: "uprobe",
  u: "uprobe",
  uretprobe: "uretprobe",
  ur: "uretprobe",
  kprobe: "kprobe",
  k: "kprobe",
  kretprobe: "kretprobe",
  kr: "kretprobe",
  kfunc: "kfunc",
  f: "kfunc",
  fentry: "kfunc",
  kretfunc: "kretfunc",
  fr: "kretfunc",
  fexit: "kretfunc",
  profile: "profile",
  p: "profile",
  interval: "interval",
  i: "interval",
};

/** Providers bpftrace has that this subset does not, with what to use instead. */
const UNSUPPORTED: Record<string, string> = {
  usdt: "USDT probes are not supported: use uprobe:BIN:FUNCTION on the function around it",
  U: "USDT probes are not supported: use uprobe:BIN:FUNCTION on the function around it",
  software: "software probes are not supported: use profile:hz:N or a tracepoint",
  s: "software probes are not supported: use profile:hz:N or a tracepoint",
  hardware: "hardware probes are not supported: use profile:hz:N",
  h: "hardware probes are not supported: use profile:hz:N",
  watchpoint: "watchpoints are not supported",
  w: "watchpoints are not supported",
  asyncwatchpoint: "watchpoints are not supported",
  iter: "iterator probes are not supported: read the map from the shell instead",
  it: "iterator probes are not supported: read the map from the shell instead",
};

/** Whether a name holds a wildcard. */
export function hasWildcard(name: string): boolean {
  return /[*?]/.test(name);
}

/**
 * Parse one attach point.
 *
 * @param src The program (for errors).
 * @param text The attach point as written (positional parameters already substituted).
 * @param span Where it is.
 * @returns What it names.
 * @throws {ProbeError} For unknown or unsupported providers and malformed points.
 * @example
 * ```ts
 * parseAttachPoint(src, "t:syscalls:sys_enter_openat", span);
 * // { provider: "tracepoint", category: "syscalls", event: "sys_enter_openat" }
 * ```
 */
export function parseAttachPoint(src: SourceText, text: string, span: Span): AttachPoint {
  const parts = splitParts(text);
  const head = parts[0];
  const provider = ALIASES[head];
  const bad = (why: string): never => fail(src, span, `invalid attach point '${text}': ${why}`);
  if (!provider) {
    if (head in UNSUPPORTED) {
      fail(src, span, `'${head}' probes are not supported`, UNSUPPORTED[head]);
    }
    fail(
      src,
      span,
      `unknown probe type '${head}'`,
      "probes are BEGIN, END, tracepoint:, rawtracepoint:, uprobe:, uretprobe:, profile:, " +
        "interval:, kprobe:, kfunc:",
    );
  }
  const rest = parts.slice(1);
  switch (provider) {
    case "BEGIN":
    case "END":
      if (rest.length) bad(`${provider} takes no arguments`);
      return { provider };
    case "tracepoint":
      if (rest.length !== 2 || !rest[0] || !rest[1]) {
        bad("a tracepoint is tracepoint:CATEGORY:NAME, e.g. tracepoint:syscalls:sys_enter_openat");
      }
      return { provider, category: rest[0], event: rest[1] };
    case "rawtracepoint":
      if (rest.length === 2 && rest[1]) return { provider, event: rest[1] };
      if (rest.length !== 1 || !rest[0]) bad("a raw tracepoint is rawtracepoint:NAME");
      return { provider, event: rest[0] };
    case "uprobe":
    case "uretprobe": {
      if (rest.length !== 2 || !rest[0] || !rest[1]) {
        bad(`a ${provider} is ${provider}:BINARY:FUNCTION, e.g. ${provider}:/bin/bash:readline`);
      }
      const [func, offset] = funcOffset(rest[1], bad);
      if (offset && provider === "uretprobe") bad("a uretprobe takes no offset");
      return { provider, binary: rest[0], func, offset };
    }
    case "kprobe":
    case "kretprobe": {
      const name = rest.length === 2 ? rest[1] : rest[0];
      if (!name || rest.length > 2) bad(`a ${provider} is ${provider}:FUNCTION`);
      const [func, offset] = funcOffset(name, bad);
      return { provider, func, offset };
    }
    case "kfunc":
    case "kretfunc": {
      const name = rest.length === 2 ? rest[1] : rest[0];
      if (!name || rest.length > 2) bad(`a ${provider} is ${provider}:FUNCTION`);
      return { provider, func: name };
    }
    case "profile":
    case "interval": {
      const units = provider === "profile" ? ["hz", "s", "ms", "us"] : ["s", "ms", "us", "hz"];
      if (rest.length === 1 && /^\d+$/.test(rest[0]) && provider === "profile") {
        return { provider, unit: "hz", rate: Number(rest[0]) };
      }
      if (rest.length !== 2 || !units.includes(rest[0])) {
        bad(`${provider} is ${provider}:UNIT:N with UNIT one of ${units.join(", ")}`);
      }
      if (!/^\d+$/.test(rest[1]) || Number(rest[1]) <= 0) {
        bad(`the rate must be a positive integer, not '${rest[1]}'`);
      }
      return {
        provider,
        unit: rest[0] as "hz" | "s" | "ms" | "us",
        rate: Number(rest[1]),
      };
    }
  }
}

/** `FUNC` or `FUNC+OFFSET`. */
function funcOffset(s: string, bad: (why: string) => never): [string, number] {
  const m = /^([^+]+)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(s);
  if (!m) bad(`'${s}' is not FUNCTION or FUNCTION+OFFSET`);
  return [m[1], m[2] ? Number(m[2]) : 0];
}

/** Split on `:`, keeping a binary path's own colons out (they cannot occur in practice). */
function splitParts(text: string): string[] {
  return text.split(":");
}

/**
 * The canonical name of an attach point, as the `probe` builtin prints it.
 *
 * @param ap An attach point with concrete names (no wildcards).
 * @returns e.g. `"tracepoint:syscalls:sys_enter_openat"`, `"interval:s:1"`.
 * @example
 * ```ts
 * probeName({ provider: "BEGIN" }); // "BEGIN"
 * ```
 */
export function probeName(ap: AttachPoint): string {
  switch (ap.provider) {
    case "BEGIN":
    case "END":
      return ap.provider;
    case "tracepoint":
      return `tracepoint:${ap.category}:${ap.event}`;
    case "rawtracepoint":
      return `rawtracepoint:${ap.event}`;
    case "uprobe":
    case "uretprobe":
      return `${ap.provider}:${ap.binary}:${ap.func}${ap.offset ? `+${ap.offset}` : ""}`;
    case "kprobe":
    case "kretprobe":
      return `${ap.provider}:${ap.func}${ap.offset ? `+${ap.offset}` : ""}`;
    case "kfunc":
    case "kretfunc":
      return `${ap.provider}:${ap.func}`;
    case "profile":
    case "interval":
      return `${ap.provider}:${ap.unit}:${ap.rate}`;
  }
}
