/**
 * The session: the objects loaded in this shell, their links, and the one resolver that
 * turns `counts` or `demo.counts` into a map (and likewise for programs).
 *
 * @module
 */

import type { BpfMap, BpfObject, Link, Program } from "./core.ts";
import { ShellError } from "./errors.ts";

/** One object loaded in the session. */
export interface LoadedObject {
  /** The session name: the file name without `.bpf.o` / `.o` (made unique). */
  name: string;
  /** The path it was loaded from. */
  path: string;
  /** The object. */
  obj: BpfObject;
}

/** A link made in this session, with the object its program belongs to. */
export interface LinkEntry {
  /** The link (its `id` is what `detach` takes). */
  link: Link;
  /** The object's session name. */
  object: string;
}

/** A map with the names it can be addressed by. */
export interface MapRef {
  /** The object it belongs to. */
  lo: LoadedObject;
  /** The map. */
  map: BpfMap;
  /** `object.map`. */
  qualified: string;
}

/** A program with the names it can be addressed by. */
export interface ProgRef {
  /** The object it belongs to. */
  lo: LoadedObject;
  /** The program. */
  prog: Program;
  /** `object.program`. */
  qualified: string;
}

/**
 * A session name for an object file: its base name without the BPF suffixes.
 *
 * @param path The object's path.
 * @returns e.g. `"execsnoop"` for `scripts/execsnoop.bpf.o`.
 * @example
 * ```ts
 * objectNameOf("build/tests/shell_demo.bpf.o"); // "shell_demo"
 * ```
 */
export function objectNameOf(path: string): string {
  const base = path.split("/").pop() ?? path;
  const name = base.replace(/(\.bpf)?\.(o|c)$/, "").replace(/[^\w]/g, "_");
  return /^\d/.test(name) ? `_${name}` : name || "obj";
}

/**
 * Everything the shell has loaded, and name resolution over it.
 *
 * @example
 * ```ts
 * const s = new Session();
 * s.add("demo.o", obj);
 * s.map("counts").map.count();
 * ```
 */
export class Session {
  /** Loaded objects by session name, in load order. */
  readonly objects = new Map<string, LoadedObject>();
  /** Links made through the shell. */
  links: LinkEntry[] = [];
  /** The most recently loaded object. */
  current?: LoadedObject;
  /** The last error a command raised (for `lastError.log` in JavaScript). */
  lastError?: unknown;
  /** Called whenever objects or links change (the JavaScript scope follows). */
  onChange?: () => void;

  /**
   * Add a loaded object under a unique name.
   *
   * @param path Where it came from.
   * @param obj The object.
   * @param name A name to use instead of the file's.
   * @returns Its session entry.
   */
  add(path: string, obj: BpfObject, name?: string): LoadedObject {
    let base = name ?? objectNameOf(path);
    if (this.objects.has(base) && name) {
      throw new ShellError(`an object named '${name}' is already loaded`);
    }
    let unique = base;
    for (let i = 2; this.objects.has(unique); i++) unique = `${base}_${i}`;
    base = unique;
    const lo: LoadedObject = { name: base, path, obj };
    this.objects.set(base, lo);
    this.current = lo;
    this.onChange?.();
    return lo;
  }

  /**
   * Record links made for an object.
   *
   * @param object The object's session name.
   * @param links The links.
   */
  addLinks(object: string, links: Link[]): void {
    for (const link of links) this.links.push({ link, object });
    this.onChange?.();
  }

  /** The links that are still attached (closed ones are forgotten). */
  liveLinks(): LinkEntry[] {
    this.links = this.links.filter((l) => l.link.attached);
    return this.links;
  }

  /**
   * An object by name, or the only/most recent one when no name is given.
   *
   * @param name The session name.
   * @returns The entry.
   */
  object(name?: string): LoadedObject {
    if (this.objects.size === 0) {
      throw new ShellError("no object is loaded", { hint: "load FILE first" });
    }
    if (name === undefined) return this.current ?? [...this.objects.values()].pop()!;
    const lo = this.objects.get(name);
    if (!lo) {
      throw new ShellError(`no object named '${name}'`, {
        hint: `objects: ${[...this.objects.keys()].join(", ")}`,
      });
    }
    return lo;
  }

  /** Every map of every object. */
  allMaps(): MapRef[] {
    const out: MapRef[] = [];
    for (const lo of this.objects.values()) {
      for (const map of lo.obj.maps) out.push({ lo, map, qualified: `${lo.name}.${map.name}` });
    }
    return out;
  }

  /** Every program of every object. */
  allProgs(): ProgRef[] {
    const out: ProgRef[] = [];
    for (const lo of this.objects.values()) {
      for (const prog of lo.obj.programs) {
        out.push({ lo, prog, qualified: `${lo.name}.${prog.name}` });
      }
    }
    return out;
  }

  /**
   * A map by `name` or `object.name`; a bare name must be unique across objects.
   *
   * @param spec The name as typed.
   * @returns The map and its object.
   */
  map(spec: string): MapRef {
    // A probe program's `@name` is the BPF map `at_name`.
    spec = spec.replace(/(^|\.)@(\w*)$/, "$1at_$2");
    return resolve(spec, "map", this.allMaps(), (r) => r.map.name, this.objects.size);
  }

  /**
   * A program by `name` or `object.name`; a bare name must be unique across objects.
   *
   * @param spec The name as typed.
   * @returns The program and its object.
   */
  prog(spec: string): ProgRef {
    return resolve(spec, "program", this.allProgs(), (r) => r.prog.name, this.objects.size);
  }

  /**
   * The live links a word names: a link id, `all`, or a program (`name` or `object.name`,
   * resolved like every program name: an ambiguous one is refused).
   *
   * @param spec The word as typed.
   * @param opts `one`: exactly one link must match.
   * @returns The links (never empty).
   */
  resolveLinks(spec: string, opts: { one?: boolean } = {}): LinkEntry[] {
    const live = this.liveLinks();
    const listing = () =>
      live.length
        ? `links: ${live.map((l) => `${l.link.id} (${l.object}.${l.link.program})`).join(", ")}`
        : "nothing is attached";
    let hits: LinkEntry[];
    if (spec === "all") hits = live;
    else if (/^\d+$/.test(spec)) hits = live.filter((l) => l.link.id === Number(spec));
    else {
      const { lo, prog } = this.prog(spec);
      hits = live.filter((l) => l.object === lo.name && l.link.program === prog.name);
      if (!hits.length) {
        throw new ShellError(`program '${lo.name}.${prog.name}' has no link`, { hint: listing() });
      }
    }
    if (!hits.length) throw new ShellError(`no link '${spec}'`, { hint: listing() });
    if (opts.one && hits.length > 1) {
      throw new ShellError(`'${spec}' names ${hits.length} links`, {
        hint: `say which: ${hits.map((l) => l.link.id).join(", ")}`,
      });
    }
    return hits;
  }

  /**
   * Detach an object's links and close it.
   *
   * @param name The session name.
   */
  remove(name: string): void {
    const lo = this.object(name);
    for (const l of this.links) if (l.object === lo.name) l.link.close();
    this.links = this.links.filter((l) => l.object !== lo.name);
    lo.obj.close();
    this.objects.delete(lo.name);
    if (this.current === lo) this.current = [...this.objects.values()].pop();
    this.onChange?.();
  }

  /**
   * Forget objects that were closed behind the shell's back (the core closes everything on
   * an uncaught error).
   *
   * @returns The names of the objects forgotten.
   */
  pruneClosed(): string[] {
    const gone = [...this.objects.values()].filter((lo) => lo.obj.closed).map((lo) => lo.name);
    if (!gone.length) return gone;
    for (const name of gone) this.objects.delete(name);
    this.links = this.links.filter((l) => !gone.includes(l.object));
    if (this.current && gone.includes(this.current.name)) {
      this.current = [...this.objects.values()].pop();
    }
    this.onChange?.();
    return gone;
  }

  /**
   * Detach every link and close every object (idempotent; never throws).
   *
   * @returns How many objects were closed.
   */
  closeAll(): number {
    let n = 0;
    for (const l of this.links) {
      try {
        l.link.close();
      } catch {
        // Keep closing the rest.
      }
    }
    this.links = [];
    for (const lo of this.objects.values()) {
      try {
        lo.obj.close();
        n++;
      } catch {
        // Keep closing the rest.
      }
    }
    this.objects.clear();
    this.current = undefined;
    this.onChange?.();
    return n;
  }
}

function resolve<T extends { lo: LoadedObject; qualified: string }>(
  spec: string,
  kind: string,
  all: T[],
  nameOf: (r: T) => string,
  objects: number,
): T {
  if (objects === 0) throw new ShellError("no object is loaded", { hint: "load FILE first" });
  const exact = all.find((r) => r.qualified === spec);
  if (exact) return exact;
  const byName = all.filter((r) => nameOf(r) === spec);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new ShellError(`${kind} name '${spec}' is ambiguous`, {
      hint: `say which: ${byName.map((r) => r.qualified).join(", ")}`,
    });
  }
  // Section maps (.bss, .rodata) are addressable but only clutter a hint.
  const shown = all.filter((r) => !nameOf(r).includes("."));
  const names = objects > 1 ? shown.map((r) => r.qualified) : shown.map(nameOf);
  throw new ShellError(`no ${kind} named '${spec}'`, {
    hint: names.length ? `${kind}s: ${names.join(", ")}` : `the loaded objects have no ${kind}s`,
  });
}
