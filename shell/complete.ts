/**
 * Tab completion: commands and sub-commands, options, map/program/global/object names of
 * the loaded objects, file paths for `load`/`source`/`run`, attach targets (tracepoint names
 * from tracefs `available_events`), BTF type names for `--as` and `btf`, and JavaScript
 * property names on lines that are JavaScript.
 *
 * @module
 */

import type { Argument, Command, Option } from "commander";
import type { Dispatcher } from "./dispatch.ts";
import { firstWord, splitCommands } from "./line.ts";
import { loadCore, loadedCore } from "./core.ts";
import { globalNames } from "./commands/objects.ts";
import { tracefsPath } from "../bpf/system/mounts.ts";
import { objectStructNames } from "./commands/stream.ts";
import { SCRIPT_RE, SESSION_RE } from "./commands/run.ts";

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
 * Completes what is typed at the prompt.
 *
 * @example
 * ```ts
 * const c = new Completer(dispatcher);
 * await c.complete("map dump co"); // [["counts"], "co"]
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
    if (!first || !names.includes(first)) return jsComplete(piece);
    const words = piece.trimStart().split(/\s+/);
    const current = words.pop() ?? "";
    return [await this.#args(words, current), current];
  }

  /** Candidates for the word being typed after `words` (a command and its earlier words). */
  async #args(words: string[], current: string): Promise<string[]> {
    const program = this.dispatcher.program;
    let cmd = find(program.commands, words[0])!;
    let i = 1;
    if (cmd.commands.length) {
      if (words.length === 1) {
        return subNames(cmd).filter((n) => n.startsWith(current)).map((n) => n + " ");
      }
      const sub = find(cmd.commands, words[1]);
      if (!sub) return [];
      cmd = sub;
      i = 2;
    }
    // Walk the words: options (and their values) apart from the positional arguments.
    const positional: string[] = [];
    let pending: Option | undefined;
    for (const w of words.slice(i)) {
      if (pending) {
        pending = undefined;
        continue;
      }
      if (w.startsWith("-") && !/^-\d/.test(w)) {
        const opt = cmd.options.find((o) => o.long === w || o.short === w);
        if (opt && (opt.required || opt.optional) && !w.includes("=")) pending = opt;
        continue;
      }
      positional.push(w);
    }
    if (pending) return filter(this.#optionValues(pending, cmd), current);
    if (current.startsWith("-") && !/^-\d/.test(current)) {
      const flags = cmd.options.flatMap((o) => o.long ? [o.long] : []);
      return filter([...flags, ...FORMAT_FLAGS, "--help"], current).map((f) => f + " ");
    }
    const args = cmd.registeredArguments;
    if (!args.length) return [];
    const idx = positional.length;
    const arg: Argument | undefined = idx < args.length
      ? args[idx]
      : args[args.length - 1].variadic
      ? args[args.length - 1]
      : undefined;
    if (!arg) return [];
    return await this.#values(cmd, arg.name(), positional, current);
  }

  /** Candidates for an option's value. */
  #optionValues(opt: Option, cmd: Command): string[] {
    const s = this.dispatcher.session;
    switch (opt.long) {
      case "--as":
        return [...s.objects.values()].flatMap((lo) => objectStructNames(lo.obj));
      case "--object":
        return [...s.objects.keys()];
      case "--set":
        return s.current ? globalNames(s.current.obj).map((n) => n + "=") : [];
      case "--sort":
        return ["key", "value"];
      default:
        void cmd;
        return [];
    }
  }

  /** Candidates for a positional argument, by its name in the command's definition. */
  async #values(cmd: Command, name: string, before: string[], current: string): Promise<string[]> {
    const s = this.dispatcher.session;
    const path = cmd.parent && cmd.parent.name() !== "bpfsh"
      ? `${cmd.parent.name()} ${cmd.name()}`
      : cmd.name();
    switch (name) {
      case "map":
        return filter(mapNames(this.dispatcher), current).map((n) => n + " ");
      case "prog":
        return filter(progNames(this.dispatcher), current).map((n) => n + " ");
      case "object":
        return filter([...s.objects.keys()], current).map((n) => n + " ");
      case "var":
        return filter(
          s.objects.size ? globalNames(s.object().obj) : [],
          current,
        )
          .map((n) => n + " ");
      case "link":
        return filter(
          ["all", ...s.liveLinks().flatMap((l) => [String(l.link.id), l.link.program])],
          current,
        )
          .map((n) => n + " ");
      case "file":
        return completePath(current, path === "source" ? undefined : /\.(o|c|ya?ml)$/);
      case "what":
        return [
          ...filter(progNames(this.dispatcher), current).map((n) => n + " "),
          ...completePath(current, /\.(ts|js|mjs|mts|ya?ml)$/).filter((p) =>
            p.endsWith("/") || SCRIPT_RE.test(p.trim()) || SESSION_RE.test(p.trim())
          ),
        ];
      case "target":
        return this.#targets(current);
      case "format":
        return filter(["table", "json", "yaml"], current).map((n) => n + " ");
      case "kind":
        return filter(["map", "prog", "link"], current).map((n) => n + " ");
      case "name": {
        const kind = before[0];
        const list = kind === "map"
          ? mapNames(this.dispatcher)
          : kind === "prog" || kind === "program"
          ? progNames(this.dispatcher)
          : s.liveLinks().map((l) => String(l.link.id));
        return filter(list, current).map((n) => n + " ");
      }
      case "path":
        return completePath(current || "/sys/fs/bpf/");
      case "command": {
        let c: Command | undefined = this.dispatcher.program;
        for (const w of before) c = c ? find(c.commands, w) : undefined;
        return c ? filter(subNames(c), current).map((n) => n + " ") : [];
      }
      case "args":
        if (cmd.name() === "btf") return await this.#btfArgs(before, current);
        if (cmd.name() === "progarray") {
          const verbs = ["set", "list", "del"];
          const rest = verbs.includes(before[0]) ? before.slice(1) : before;
          if (before.length === 0) {
            return filter([...verbs, ...progArrays(this.dispatcher)], current).map((n) => n + " ");
          }
          if (rest.length === 0) {
            return filter(progArrays(this.dispatcher), current).map((n) => n + " ");
          }
          if (rest.length === 2) {
            return filter(progNames(this.dispatcher), current).map((n) => n + " ");
          }
        }
        return [];
      default:
        return [];
    }
  }

  /** `btf` words: a sub-verb, then kernel type names. */
  async #btfArgs(before: string[], current: string): Promise<string[]> {
    if (before.length === 0 && "has".startsWith(current) && current) return ["has "];
    if (before[0] === "names") return [];
    if (before[0] === "has" && before.length >= 2) return [];
    if (!current || current.length < 2) {
      return before.length === 0
        ? filter(["has", "names", "struct", "union", "enum"], current).map((n) => n + " ")
        : [];
    }
    try {
      const core = loadedCore() ?? await loadCore();
      return core.Btf.kernel().names(current).slice(0, 500);
    } catch {
      return [];
    }
  }

  /** Attach targets: kind prefixes, then tracepoint names from tracefs. */
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
    return filter(TARGET_PREFIXES, current);
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

function find(cmds: readonly Command[], name: string | undefined): Command | undefined {
  return cmds.find((c) => c.name() === name || c.aliases().includes(name ?? ""));
}

function subNames(cmd: Command): string[] {
  return cmd.commands.map((c) => c.name());
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
