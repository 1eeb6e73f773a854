/**
 * `object load|unload|list` (also `load`, `unload`, `objects`).
 *
 * @module
 */

import { loadCore } from "../core.ts";
import { parseAssign } from "../values.ts";
import type { CommandSpec } from "./types.ts";
import { plural } from "./util.ts";

/** `object …`. */
export const objectCommand: CommandSpec = {
  name: "object",
  group: "Objects",
  summary: "load, unload and list BPF objects",
  defaultSubcommand: "list",
  subcommands: [
    {
      name: "load",
      topAliases: ["load"],
      summary: "load a .o or .bpf.c and attach its programs",
      description: "open a .o (or a .bpf.c, compiled on the fly), load it and attach its programs",
      args: [{ name: "file", help: "the object file", required: true }],
      options: {
        set: {
          type: "string",
          arg: "VAR=VALUE",
          help: "set a global before load (repeatable)",
          multiple: true,
          complete: "global-assign",
        },
        "no-attach": { type: "boolean", help: "load only; attach later with `prog attach`" },
        name: { type: "string", help: "the session name (default: the file name)" },
      },
      async run(ctx, { args, opts }) {
        const { session, out } = ctx;
        const file = args.file as string;
        const { BpfObject } = await loadCore();
        const obj = await BpfObject.open(file, { signal: ctx.signal });
        try {
          const globals = obj.globals as Record<string, unknown>;
          for (const assign of opts.set as string[]) {
            const [name, value] = parseAssign(assign);
            globals[name] = value;
          }
          obj.load();
          const links = opts["no-attach"] ? [] : obj.attachAll();
          const lo = session.add(file, obj, opts.name as string | undefined);
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
      },
    },
    {
      name: "unload",
      topAliases: ["unload"],
      summary: "detach and close an object (the most recent one by default)",
      args: [{ name: "object", help: "the object's session name" }],
      run({ session, out }, { args }) {
        const lo = session.object(args.object as string | undefined);
        session.remove(lo.name);
        out.info(`unloaded ${lo.name}`);
      },
    },
    {
      name: "list",
      aliases: ["show"],
      topAliases: ["objects"],
      summary: "list the loaded objects",
      run({ session, out }) {
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
      },
    },
  ],
};
