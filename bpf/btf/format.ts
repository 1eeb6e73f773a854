/**
 * A pahole-like C rendering of BTF types: each member with `/* offset size *\/`,
 * bitfields as `/* offset:bit size *\/`, holes and tail padding called out, anonymous
 * structs and unions expanded inline (offsets stay relative to the outermost type).
 *
 * @module
 */

import type { BtfComposite, BtfMember, BtfType } from "./types.ts";

/** What formatting needs from a {@link Btf}. */
export interface FormatSource {
  /** The record of a type id. */
  typeById(id: number): BtfType;
  /** The id behind typedefs and qualifiers. */
  resolve(id: number): number;
  /** Size in bytes. */
  sizeOf(id: number): number;
  /** The C name of a type. */
  nameOf(id: number): string;
  /** The C declaration of a name with a type. */
  declare(id: number, name: string): string;
}

/** One output line: the C text and an optional layout comment. */
interface Line {
  text: string;
  comment?: string;
}

/** Bytes per cacheline, for the summary (x86-64). */
const CACHELINE = 64;
/** Layout comments start at least this far right (tabs count 8). */
const MIN_COLUMN = 40;
/** ...and at most this far, so one long declaration does not push every comment. */
const MAX_COLUMN = 64;

/** `/*    16     8 *\/` for a byte offset and size. */
function at(offset: number, size: number): string {
  return `/* ${String(offset).padStart(5)} ${String(size).padStart(5)} */`;
}

/** Display width with tabs expanded to 8 columns. */
function width(s: string): number {
  let w = 0;
  for (const c of s) w = c === "\t" ? (w + 8) & ~7 : w + 1;
  return w;
}

/** The anonymous struct or union a member's type is, if it is one (not via typedef). */
function anonComposite(src: FormatSource, m: BtfMember): BtfComposite | undefined {
  const t = src.typeById(m.type);
  return (t.kind === "struct" || t.kind === "union") && t.name === "" ? t : undefined;
}

/** Size of a member's type, 0 when it has none (should not happen in valid BTF). */
function sizeOrZero(src: FormatSource, id: number): number {
  try {
    return src.sizeOf(id);
  } catch {
    return 0;
  }
}

/** Layout facts collected while rendering the outermost struct. */
interface Stats {
  holes: number;
  holeBytes: number;
  bitHoles: number;
}

/**
 * Render the members of a struct or union into `lines`.
 *
 * @param src The BTF.
 * @param t The struct or union.
 * @param depth Indentation depth (tabs).
 * @param base Bit offset of `t` inside the outermost type.
 * @param lines Output.
 * @param stats Hole counts, for the outermost struct only.
 */
function members(
  src: FormatSource,
  t: BtfComposite,
  depth: number,
  base: number,
  lines: Line[],
  stats?: Stats,
): void {
  const tab = "\t".repeat(depth);
  let end = 0; // bits used so far (structs only)
  for (const m of t.members) {
    const size = sizeOrZero(src, m.type);
    const bitOff = base + m.bitOffset;
    if (t.kind === "struct" && m.bitOffset > end) {
      const gap = m.bitOffset - end;
      if (gap % 8 === 0 && (m.bitSize === 0 || end % 8 === 0)) {
        lines.push({
          text: `${tab}/* XXX ${gap / 8} byte${gap === 8 ? "" : "s"} hole, try to pack */`,
        });
        if (stats) {
          stats.holes++;
          stats.holeBytes += gap / 8;
        }
      } else {
        lines.push({ text: `${tab}/* XXX ${gap} bit${gap === 1 ? "" : "s"} hole */` });
        if (stats) stats.bitHoles++;
      }
    }
    const inner = anonComposite(src, m);
    if (inner && m.bitSize === 0) {
      lines.push({ text: `${tab}${inner.kind} {` });
      members(src, inner, depth + 1, bitOff, lines);
      lines.push({
        text: `${tab}}${m.name ? " " + m.name : ""};`,
        comment: at(bitOff / 8, size),
      });
    } else if (m.bitSize > 0) {
      const unit = size > 0 ? Math.floor(bitOff / (size * 8)) * size : bitOff >> 3;
      lines.push({
        text: `${tab}${src.declare(m.type, m.name)}:${m.bitSize};`,
        comment: `/* ${String(unit).padStart(5)}:${String(bitOff - unit * 8).padStart(2)} ${
          String(size).padStart(2)
        } */`,
      });
    } else {
      lines.push({ text: `${tab}${src.declare(m.type, m.name)};`, comment: at(bitOff / 8, size) });
    }
    const mEnd = m.bitOffset + (m.bitSize || size * 8);
    end = Math.max(end, mEnd);
  }
  if (t.kind === "struct" && depth > 1 && t.size * 8 > end) {
    lines.push({ text: `${tab}/* XXX ${t.size - Math.ceil(end / 8)} bytes padding */` });
  }
}

/** Used bits of a struct (end of its last member). */
function usedBits(src: FormatSource, t: BtfComposite): number {
  let end = 0;
  for (const m of t.members) {
    end = Math.max(end, m.bitOffset + (m.bitSize || sizeOrZero(src, m.type) * 8));
  }
  return end;
}

/** Pad each line's text so comments line up. */
function render(lines: Line[]): string {
  const longest = Math.max(0, ...lines.filter((l) => l.comment).map((l) => width(l.text)));
  const col = Math.min(MAX_COLUMN, Math.max(MIN_COLUMN, longest + 1));
  return lines.map((l) => {
    if (!l.comment) return l.text;
    const w = width(l.text);
    return l.text + " ".repeat(Math.max(1, col - w)) + l.comment;
  }).join("\n");
}

/** A struct or union body with its summary, as lines (header line to closing brace). */
function composite(src: FormatSource, t: BtfComposite, head: string, tail: string): Line[] {
  const lines: Line[] = [{ text: `${head}${t.kind}${t.name ? " " + t.name : ""} {` }];
  const stats: Stats = { holes: 0, holeBytes: 0, bitHoles: 0 };
  members(src, t, 1, 0, lines, stats);
  lines.push({ text: "" });
  const cachelines = Math.ceil(t.size / CACHELINE);
  lines.push({
    text: `\t/* size: ${t.size}, cachelines: ${cachelines}, members: ${t.members.length} */`,
  });
  if (stats.holes) {
    lines.push({
      text:
        `\t/* sum members: ${t.size - stats.holeBytes - padding(src, t)}, holes: ${stats.holes}, ` +
        `sum holes: ${stats.holeBytes} */`,
    });
  }
  if (stats.bitHoles) lines.push({ text: `\t/* bit holes: ${stats.bitHoles} */` });
  const pad = padding(src, t);
  if (pad) lines.push({ text: `\t/* padding: ${pad} */` });
  lines.push({ text: `}${tail};` });
  return lines;
}

/** Tail padding of a struct in bytes (0 for unions). */
function padding(src: FormatSource, t: BtfComposite): number {
  if (t.kind !== "struct") return 0;
  return Math.max(0, t.size - Math.ceil(usedBits(src, t) / 8));
}

/**
 * Render one type as C with layout comments.
 *
 * @param src The BTF.
 * @param id The type id.
 * @returns The C text: a struct/union layout, an enum's enumerators, a typedef, a
 *   function signature, a data section's variables, or the type name with its size.
 * @example
 * ```ts
 * console.log(formatType(btf, btf.findId("struct padded")!));
 * // struct padded {
 * //         u64 a;                          /*     0     8 *\/
 * //         u32 b;                          /*     8     4 *\/
 * //
 * //         /* size: 16, cachelines: 1, members: 2 *\/
 * //         /* padding: 4 *\/
 * // };
 * ```
 */
export function formatType(src: FormatSource, id: number): string {
  const t = src.typeById(id);
  switch (t.kind) {
    case "struct":
    case "union":
      return render(composite(src, t, "", ""));
    case "enum":
    case "enum64": {
      const lines = [`enum${t.name ? " " + t.name : ""} {`];
      for (const v of t.values) lines.push(`\t${v.name} = ${v.value},`);
      lines.push(`\t/* size: ${t.size}, ${t.signed ? "signed" : "unsigned"} */`);
      lines.push("};");
      return lines.join("\n");
    }
    case "typedef": {
      const target = src.typeById(t.type);
      if ((target.kind === "struct" || target.kind === "union") && target.name === "") {
        return render(composite(src, target, "typedef ", ` ${t.name}`));
      }
      if ((target.kind === "enum" || target.kind === "enum64") && target.name === "") {
        const body = formatType(src, target.id).replace(/};$/, `} ${t.name};`);
        return `typedef ${body}`;
      }
      return `typedef ${src.declare(t.type, t.name)}; /* size: ${sizeOrZero(src, t.id)} */`;
    }
    case "func":
      return `${src.declare(t.id, t.name)};`;
    case "var":
      return `${src.declare(t.type, t.name)}; /* size: ${sizeOrZero(src, t.type)} */`;
    case "datasec": {
      const lines: Line[] = [{ text: `datasec ${t.name} {` }];
      for (const v of t.vars) {
        const vt = src.typeById(v.type);
        const text = vt.kind === "var"
          ? `\t${src.declare(vt.type, vt.name)};`
          : `\t${src.declare(vt.id, vt.name)};`;
        lines.push({ text, comment: at(v.offset, v.size) });
      }
      lines.push({ text: "" }, { text: `\t/* size: ${t.size} */` }, { text: "};" });
      return render(lines);
    }
    case "fwd":
      return `${t.union ? "union" : "struct"} ${t.name}; /* forward declaration */`;
    case "void":
    case "func_proto":
    case "decl_tag":
      return `${src.nameOf(t.id)};`;
    default:
      return `${src.nameOf(t.id)}; /* size: ${sizeOrZero(src, t.id)} */`;
  }
}
