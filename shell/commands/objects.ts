/**
 * Objects and their parts: load, unload, objects, progs, maps, links, attach, detach,
 * globals, pin.
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { loadCore } from "../core.ts";
import { ShellError } from "../errors.ts";
import { parseAssign, parseValue } from "../values.ts";
import { collect } from "./mod.ts";
import type { Row } from "../output.ts";

/**
 * Register the object commands.
 *
 * @param program The root command.
 * @param ctx What the commands use.
 * @example
 * ```ts
 * register(program, ctx);
 * ```
 */
export function register(program: Command, ctx: Ctx): void {
  const { session, out } = ctx;
  const group = "Objects:";

  program.command("load").helpGroup(group)
    .summary("load a .o or .bpf.c and attach its programs")
    .description("open a .o (or a .bpf.c, compiled on the fly), load it and attach its programs")
    .argument("<file>", "the object file")
    .option("--set <var=value>", "set a global before load (repeatable)", collect, [])
    .option("--no-attach", "load only; attach later with `attach`")
    .option("--name <name>", "the session name (default: the file name)")
    .action(async (file: string, opts: { set: string[]; attach: boolean; name?: string }) => {
      const { BpfObject } = await loadCore();
      const obj = await BpfObject.open(file);
      try {
        const globals = obj.globals as Record<string, unknown>;
        for (const assign of opts.set) {
          const [name, value] = parseAssign(assign);
          globals[name] = value;
        }
        obj.load();
        const links = opts.attach ? obj.attachAll() : [];
        const lo = session.add(file, obj, opts.name);
        session.addLinks(lo.name, links);
        if (out.format !== "table") {
          out.record({
            object: lo.name,
            path: file,
            programs: obj.programs.map((p) => p.name),
            maps: obj.maps.map((m) => m.name),
            links: links.map((l) => ({ id: l.id, program: l.program, target: l.target })),
          });
          return;
        }
        const parts = [
          plural(obj.programs.length, "program"),
          plural(obj.maps.length, "map"),
          plural(links.length, "link"),
        ];
        out.line(`loaded ${out.style("bold", lo.name)}: ${parts.join(", ")}`);
        for (const l of links) {
          out.line(out.style("dim", `  ${l.id}: ${l.program} -> ${l.target}`));
        }
      } catch (e) {
        obj.close();
        throw e;
      }
    });

  program.command("unload").helpGroup(group)
    .description("detach and close an object (the most recent one by default)")
    .argument("[object]", "the object's session name")
    .action((name?: string) => {
      const lo = session.object(name);
      session.remove(lo.name);
      out.info(`unloaded ${lo.name}`);
    });

  program.command("objects").helpGroup(group)
    .description("list the loaded objects")
    .action(() => {
      const links = session.liveLinks();
      out.table(
        [...session.objects.values()].map((lo) => ({
          name: lo.name,
          path: lo.path,
          programs: lo.obj.programs.length,
          maps: lo.obj.maps.length,
          links: links.filter((l) => l.object === lo.name).length,
        })),
        { empty: "no objects loaded (load FILE)" },
      );
    });

  program.command("progs").helpGroup(group)
    .description("list the programs of the loaded objects")
    .argument("[object]", "only this object")
    .action((name?: string) => {
      const links = session.liveLinks();
      const refs = session.allProgs().filter((r) => !name || r.lo.name === name);
      out.table(
        refs.map(({ lo, prog }) => ({
          object: lo.name,
          name: prog.name,
          type: prog.type,
          section: prog.section,
          id: safe(() => kernelId(prog.fd, "prog_id")),
          links: links.filter((l) => l.object === lo.name && l.link.program === prog.name).length,
        })),
        { empty: "no programs (load FILE)" },
      );
    });

  program.command("maps").helpGroup(group)
    .description("list the maps of the loaded objects")
    .argument("[object]", "only this object")
    .action((name?: string) => {
      const refs = session.allMaps().filter((r) => !name || r.lo.name === name);
      out.table(
        refs.map(({ lo, map }) => {
          const row: Row = {
            object: lo.name,
            id: safe(() => kernelId(map.fd, "map_id")),
            name: map.name,
            type: map.type,
            key: map.keySize ? safe(() => map.keyType) : undefined,
            value: map.valueSize ? safe(() => map.valueType) : undefined,
            max: map.maxEntries,
          };
          return row;
        }),
        { empty: "no maps (load FILE)" },
      );
    });

  program.command("links").helpGroup(group)
    .description("list the links (attachments) made in this session")
    .action(() => {
      out.table(
        session.liveLinks().map(({ link, object }) => ({
          id: link.id,
          object,
          program: link.program,
          target: link.target,
        })),
        { empty: "no links (attach PROG [TARGET])" },
      );
    });

  program.command("attach").helpGroup(group)
    .description("attach a program by its section, or to an explicit target")
    .argument("<prog>", "the program (name or object.name)")
    .argument("[target]", "e.g. tracepoint/syscalls/sys_enter_close, uprobe/bin:func, xdp/lo")
    .action((spec: string, target?: string) => {
      const { lo, prog } = session.prog(spec);
      const link = prog.attach(target);
      session.addLinks(lo.name, [link]);
      if (out.format !== "table") {
        return out.record({ id: link.id, program: link.program, target: link.target });
      }
      out.line(
        `attached ${link.program} -> ${link.target} ${out.style("dim", `(link ${link.id})`)}`,
      );
    });

  program.command("detach").helpGroup(group)
    .description("detach links: by id, by program name, or all")
    .argument("<link...>", "link ids (see `links`), program names, or `all`")
    .action((specs: string[]) => {
      const live = session.liveLinks();
      const chosen = new Set<(typeof live)[number]>();
      for (const spec of specs) {
        const hits = spec === "all"
          ? live
          : /^\d+$/.test(spec)
          ? live.filter((l) => l.link.id === Number(spec))
          : live.filter((l) => l.link.program === spec || `${l.object}.${l.link.program}` === spec);
        if (!hits.length) {
          throw new ShellError(`no link '${spec}'`, {
            hint: live.length
              ? `links: ${live.map((l) => `${l.link.id} (${l.link.program})`).join(", ")}`
              : "nothing is attached",
          });
        }
        for (const h of hits) chosen.add(h);
      }
      for (const l of chosen) {
        l.link.close();
        out.info(`detached ${l.link.id}: ${l.link.program} -> ${l.link.target}`);
      }
      session.liveLinks();
      session.onChange?.();
    });

  program.command("globals").helpGroup(group)
    .summary("list globals, read one, or set one")
    .description("show global variables, one, or set one (.data/.bss live; .rodata before load)")
    .argument("[var]", "the variable (name or object.name)")
    .argument("[value]", "the new value")
    .option("--object <name>", "the object (default: the most recent)")
    .action((name: string | undefined, value: string | undefined, opts: { object?: string }) => {
      let objectName = opts.object;
      if (name?.includes(".")) [objectName, name] = name.split(".", 2);
      const lo = session.object(objectName);
      const globals = lo.obj.globals as Record<string, unknown>;
      const info = lo.obj.globalsInfo();
      if (name === undefined) {
        out.table(
          info.map((g) => ({
            name: g.name,
            section: g.section,
            type: g.type,
            value: safe(() => globals[g.name]),
          })),
          { empty: `${lo.name} has no global variables` },
        );
        return;
      }
      if (!info.some((g) => g.name === name)) {
        throw new ShellError(`no global named '${name}' in ${lo.name}`, {
          hint: `globals: ${info.map((g) => g.name).join(", ") || "none"}`,
        });
      }
      if (value !== undefined) globals[name] = parseValue(value);
      if (out.format === "table") out.line(`${name} = ${fmt(globals[name])}`);
      else out.record({ name, value: globals[name] });
    });

  program.command("pin").helpGroup(group)
    .summary("pin a map, program or link to bpffs")
    .description("pin a map, program or link to bpffs so it outlives the shell")
    .argument("<kind>", "map, prog or link")
    .argument("<name>", "its name (a link's id)")
    .argument("<path>", "a path under /sys/fs/bpf")
    .action((kind: string, name: string, path: string) => {
      switch (kind) {
        case "map":
          session.map(name).map.pin(path);
          break;
        case "prog":
        case "program":
          session.prog(name).prog.pin(path);
          break;
        case "link": {
          const l = session.liveLinks().find((x) => String(x.link.id) === name);
          if (!l) throw new ShellError(`no link '${name}'`, { hint: "see `links` for the ids" });
          l.link.pin(path);
          break;
        }
        default:
          throw new ShellError(`cannot pin a '${kind}'`, {
            hint: "pin map|prog|link NAME PATH",
            usage: true,
          });
      }
      out.info(`pinned ${kind} ${name} at ${path}`);
    });
}

/**
 * The names of an object's global variables.
 *
 * @param obj The object.
 * @returns The variable names.
 * @example
 * ```ts
 * globalNames(obj); // ["filter_uid", "exec_total"]
 * ```
 */
export function globalNames(obj: { globalsInfo(): { name: string }[] }): string[] {
  try {
    return obj.globalsInfo().map((g) => g.name);
  } catch {
    return [];
  }
}

/**
 * The kernel id of a BPF fd of this process (what bpftool shows), from /proc/self/fdinfo.
 *
 * @param fd The fd.
 * @param key `"prog_id"`, `"map_id"` or `"link_id"`.
 * @returns The id, or undefined.
 * @example
 * ```ts
 * kernelId(prog.fd, "prog_id"); // 705
 * ```
 */
export function kernelId(fd: number, key: "prog_id" | "map_id" | "link_id"): number | undefined {
  if (fd < 0) return undefined;
  try {
    const text = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    const m = new RegExp(`${key}:\\s*(\\d+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function fmt(v: unknown): string {
  return typeof v === "bigint"
    ? String(v)
    : typeof v === "string"
    ? JSON.stringify(v)
    : Deno.inspect(v, { compact: true, breakLength: Infinity });
}
