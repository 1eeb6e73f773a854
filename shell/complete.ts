/**
 * Tab completion: commands and sub-commands, options, map/program/global/object names of
 * the loaded objects, file paths for `load`/`source`/`run`, attach targets (tracepoint names
 * from tracefs `available_events`), BTF type names for `--as` and `btf`, and JavaScript
 * property names on lines that are JavaScript.
 *
 * @module
 */

import type { Dispatcher } from "./dispatch.ts";
import type { ArgSpec, OptionSpec } from "./args.ts";
import { firstWord, splitCommands } from "./line.ts";
import { loadCore, loadedCore } from "./core.ts";
import { globalNames } from "./commands/globals.ts";
import { tracefsPath } from "../bpf/system/mounts.ts";
import { objectStructNames } from "./commands/stream.ts";
import { SCRIPT_RE, SESSION_RE } from "./commands/run.ts";
import { findCommand } from "./commands/help.ts";
import type { CommandSpec } from "./commands/types.ts";
import { completeProbeWord } from "./commands/probe.ts";

/** Completions and the text they replace (what readline expects). */
export type Completion = [string[], string];

/** Attach target kinds offered before a kind is typed. */
const TARGET_PREFIXES = [
  "tracepoint/",
  "raw_tp/",
  "tp_btf/",
  "uprobe/",
  "uretprobe/",
  "usdt/",
  "perf_event/",
  "xdp/",
  "tc/",
];

const FORMAT_FLAGS = ["--json", "--yaml", "--table"];

/**
 * Completes what is typed at the prompt, from the command table's declarations: each
 * argument and option names what completes it (`complete`, else its name).
 *
 * @example
 * ```ts
 * const c = new Completer(dispatcher);
 * await c.complete("map dump co"); // [["counts "], "co"]
 * ```
 */
export class Completer {
  #events?: string[];

  constructor(readonly dispatcher: Dispatcher) {}

  /**
   * Complete the text before the cursor.
   *
   * @param line The line up to the cursor.
   * @returns The candidates and the partial word they replace.
   */
  async complete(line: string): Promise<Completion> {
    const pieces = splitCommands(line);
    const endsInSemicolon = /;\s*$/.test(line);
    const piece = endsInSemicolon || !pieces.length
      ? ""
      : line.slice(pieces[pieces.length - 1].offset);
    const names = this.dispatcher.commandNames();
    const first = firstWord(piece);
    const onlyWord = /^\s*[\w-]*$/.test(piece);
    if (onlyWord) {
      const word = piece.trim();
      const cmds = names.filter((n) => n.startsWith(word));
      const js = word ? jsCompletions(word) : [];
      return [unique([...cmds.map((c) => c + " "), ...js]).sort(), word];
    }
    if (!first || !this.dispatcher.isCommand(first)) return jsComplete(piece);
    const words = piece.trimStart().split(/\s+/);
    const current = words.pop() ?? "";
    return [await this.#args(words, current), current];
  }

  /** Candidates for the word being typed after `words` (a command and its earlier words). */
  async #args(words: string[], current: string): Promise<string[]> {
    const found = findCommand(this.dispatcher.commands, words);
    if (!found) return [];
    let spec = found.spec;
    const rest = words.slice(found.used);
    const subs = spec.subcommands ?? [];
    if (subs.length && rest.length === 0) {
      const names = filter(subs.map((s) => s.name), current).map((n) => n + " ");
      if (!spec.run) return names;
      // `btf TYPE` and `btf has …`: sub-commands and the command's own arguments.
      return [...names, ...await this.#positional(spec, [], current)];
    }
    if (subs.length && !spec.run && spec.defaultSubcommand) {
      spec = subs.find((s) => s.name === spec.defaultSubcommand) ?? spec;
    }
    // Walk the words: options (and their values) apart from the positional arguments.
    const options = spec.options ?? {};
    const positional: string[] = [];
    let pending: OptionSpec | undefined;
    for (const w of rest) {
      if (pending) {
        pending = undefined;
        continue;
      }
      if (w.startsWith("-") && !/^-\d/.test(w)) {
        const o = optionOf(options, w);
        if (o?.type === "string" && !w.includes("=")) pending = o;
        continue;
      }
      positional.push(w);
    }
    if (pending) return filter(this.#kind(pending.complete ?? "", [], found.path), current);
    if (current.startsWith("-") && !/^-\d/.test(current)) {
      return filter(
        [...Object.keys(options).map((o) => `--${o}`), ...FORMAT_FLAGS, "--help"],
        current,
      )
        .map((f) => f + " ");
    }
    return await this.#positional(spec, positional, current);
  }

  /** Candidates for the next positional argument of a command. */
  async #positional(spec: CommandSpec, before: string[], current: string): Promise<string[]> {
    const args = spec.args ?? [];
    if (!args.length) return [];
    const last = args[args.length - 1];
    const arg: ArgSpec | undefined = before.length < args.length
      ? args[before.length]
      : last.variadic
      ? last
      : undefined;
    if (!arg) return [];
    return await this.#values(arg.complete ?? arg.name, before, current, spec);
  }

  /** Values of an option, by its completion kind (no trailing space: the word may go on). */
  #kind(kind: string, _before: string[], _path: string[]): string[] {
    const s = this.dispatcher.session;
    switch (kind) {
      case "struct":
        return [...s.objects.values()].flatMap((lo) => objectStructNames(lo.obj));
      case "object":
        return [...s.objects.keys()];
      case "global-assign":
        return s.current ? globalNames(s.current.obj).map((n) => n + "=") : [];
      case "sort":
        return ["key", "value"];
      case "map":
        return mapNames(this.dispatcher);
      default:
        return [];
    }
  }

  /** Candidates for a positional argument, by its completion kind. */
  async #values(
    kind: string,
    before: string[],
    current: string,
    spec: CommandSpec,
  ): Promise<string[]> {
    const s = this.dispatcher.session;
    const words = (list: string[]) => filter(list, current).map((n) => n + " ");
    switch (kind) {
      case "map":
        return words(mapNames(this.dispatcher));
      case "prog":
        return words(progNames(this.dispatcher));
      case "progarray":
        return words(progArrays(this.dispatcher));
      case "object":
        return words([...s.objects.keys()]);
      case "var":
        return words(s.objects.size ? globalNames(s.object().obj) : []);
      case "link":
        return words([
          "all",
          ...s.liveLinks().flatMap((l) => [String(l.link.id), l.link.program]),
        ]);
      case "file":
        return completePath(current, /\.(o|c)$/);
      case "any-file":
        return completePath(current);
      case "what":
        return [
          ...words(progNames(this.dispatcher)),
          ...completePath(current, /\.(ts|js|mjs|mts|ya?ml)$/).filter((p) =>
            p.endsWith("/") || SCRIPT_RE.test(p.trim()) || SESSION_RE.test(p.trim())
          ),
        ];
      case "target":
        return this.#targets(current);
      case "probe-program":
        return await completeProbeWord(current);
      case "format":
        return words(["table", "json", "yaml"]);
      case "kind":
        return words(["map", "prog", "link"]);
      case "name": {
        const k = before[0];
        return words(
          k === "map"
            ? mapNames(this.dispatcher)
            : k === "prog" || k === "program"
            ? progNames(this.dispatcher)
            : s.liveLinks().map((l) => String(l.link.id)),
        );
      }
      case "path":
      case "bpffs":
        return completePath(current || "/sys/fs/bpf/");
      case "command": {
        if (before.length === 0) return words(this.dispatcher.commandNames());
        const found = findCommand(this.dispatcher.commands, before);
        return found ? words((found.spec.subcommands ?? []).map((c) => c.name)) : [];
      }
      case "args":
        // `progarray MAP INDEX PROG`: a prog_array, an index, then a program.
        if (spec.name === "progarray") {
          if (before.length === 0) return words(progArrays(this.dispatcher));
          if (before.length === 2) return words(progNames(this.dispatcher));
        }
        return [];
      case "btf-type":
        return await this.#btfTypes(current);
      default:
        return [];
    }
  }

  /** Kernel BTF type names (from two typed characters on: there are tens of thousands). */
  async #btfTypes(current: string): Promise<string[]> {
    if (current.length < 2) return [];
    try {
      const core = loadedCore() ?? await loadCore();
      return core.Btf.kernel().names(current).slice(0, 500);
    } catch {
      return [];
    }
  }

  /**
   * Attach targets: kind prefixes, then tracepoints — as `tracepoint/CAT/NAME`, `tp/…`,
   * `raw_tp/NAME`, and also bare `CAT/NAME` (attach takes that as a tracepoint), so
   * `sysc<Tab>` offers `syscalls/`.
   */
  #targets(current: string): string[] {
    const m = /^(tracepoint|tp)\/(.*)$/.exec(current);
    if (m) {
      const prefix = m[1];
      return this.#tracepoints().map((e) => `${prefix}/${e}`).filter((t) => t.startsWith(current))
        .slice(0, 2000);
    }
    const rt = /^(raw_tp|raw_tracepoint|tp_btf)\/(.*)$/.exec(current);
    if (rt) {
      const names = unique(this.#tracepoints().map((e) => e.split("/")[1]));
      return names.map((n) => `${rt[1]}/${n}`).filter((t) => t.startsWith(current)).slice(0, 2000);
    }
    const kinds = filter(TARGET_PREFIXES, current);
    if (!current) return kinds;
    const events = this.#tracepoints();
    if (current.includes("/")) {
      return events.filter((e) => e.startsWith(current)).map((e) => e + " ").slice(0, 2000);
    }
    const categories = unique(events.map((e) => e.slice(0, e.indexOf("/") + 1)))
      .filter((c) => c.startsWith(current));
    return [...kinds, ...categories];
  }

  /** `category/name` for every tracepoint, from tracefs. */
  #tracepoints(): string[] {
    if (this.#events) return this.#events;
    const path = tracefsPath("available_events");
    try {
      const text = path ? Deno.readTextFileSync(path) : "";
      this.#events = text.split("\n").filter(Boolean).map((l) => l.replace(":", "/")).sort();
    } catch {
      this.#events = [];
    }
    return this.#events;
  }
}

function optionOf(options: Record<string, OptionSpec>, word: string): OptionSpec | undefined {
  const name = word.replace(/^--?/, "").replace(/=.*$/, "");
  return options[name] ?? Object.values(options).find((o) => o.short === name);
}

function filter(list: string[], prefix: string): string[] {
  return unique(list.filter((x) => x.startsWith(prefix)));
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** Map names: bare when unique, `object.map` always when several objects are loaded. */
function mapNames(d: Dispatcher): string[] {
  const refs = d.session.allMaps();
  const bare = refs.map((r) => r.map.name);
  return d.session.objects.size > 1 ? [...bare, ...refs.map((r) => r.qualified)] : bare;
}

function progNames(d: Dispatcher): string[] {
  const refs = d.session.allProgs();
  const bare = refs.map((r) => r.prog.name);
  return d.session.objects.size > 1 ? [...bare, ...refs.map((r) => r.qualified)] : bare;
}

function progArrays(d: Dispatcher): string[] {
  return d.session.allMaps().filter((r) => r.map.type === "prog_array").map((r) => r.map.name);
}

/**
 * Complete a file path: entries of the typed directory starting with the typed base name;
 * directories end with `/`; `want` keeps only matching files (directories always stay).
 *
 * @param current The word typed so far.
 * @param want Only files matching this.
 * @returns Candidate paths.
 * @example
 * ```ts
 * completePath("build/te"); // ["build/tests/"]
 * ```
 */
export function completePath(current: string, want?: RegExp): string[] {
  const slash = current.lastIndexOf("/");
  const dir = slash >= 0 ? current.slice(0, slash + 1) : "";
  const base = slash >= 0 ? current.slice(slash + 1) : current;
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir || ".")) {
      if (!e.name.startsWith(base)) continue;
      if (e.name.startsWith(".") && !base.startsWith(".")) continue;
      let isDir = e.isDirectory;
      if (e.isSymlink) {
        try {
          isDir = Deno.statSync(dir + e.name).isDirectory;
        } catch {
          isDir = false;
        }
      }
      if (isDir) out.push(`${dir}${e.name}/`);
      else if (!want || want.test(e.name)) out.push(`${dir}${e.name} `);
    }
  } catch {
    return [];
  }
  return out.sort();
}

/** Globals worth offering on a JavaScript line (our names and the API first). */
function jsCompletions(word: string): string[] {
  const names = new Set<string>();
  for (
    let o: object | null = globalThis;
    o && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const n of Object.getOwnPropertyNames(o)) names.add(n);
  }
  return [...names].filter((n) =>
    n.startsWith(word) && /^[A-Za-z_$][\w$]*$/.test(n) && !n.startsWith("__")
  );
}

/** Complete the last `a.b.c` chain of a JavaScript line. */
function jsComplete(line: string): Completion {
  const m = /((?:[A-Za-z_$][\w$]*\.)*)([A-Za-z_$][\w$]*)?$/.exec(line);
  if (!m) return [[], ""];
  const chain = m[1];
  const partial = m[2] ?? "";
  if (!chain) return [jsCompletions(partial).sort(), partial];
  let v: unknown = globalThis;
  for (const part of chain.slice(0, -1).split(".")) {
    try {
      v = (v as Record<string, unknown>)[part];
    } catch {
      return [[], partial];
    }
    if (v === null || v === undefined) return [[], partial];
  }
  const names = new Set<string>();
  for (let o: unknown = v; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const n of Object.getOwnPropertyNames(o)) {
      if (n !== "constructor" && !n.startsWith("#") && /^[A-Za-z_$][\w$]*$/.test(n)) names.add(n);
    }
    if (typeof o !== "object" && typeof o !== "function") break;
  }
  return [[...names].filter((n) => n.startsWith(partial)).sort(), partial];
}
