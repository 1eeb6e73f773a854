/**
 * `btf`: kernel (or object) BTF inspection — a type's C layout with offsets (`btf TYPE`),
 * whether a field exists, the CO-RE question (`btf has TYPE FIELD`), and type names matching
 * a pattern (`btf names RE`).
 *
 * @module
 */

import { type Btf, loadCore } from "../core.ts";
import { ShellError } from "../errors.ts";
import type { OptionSpec } from "../args.ts";
import type { CommandSpec, Ctx } from "./types.ts";

const OBJECT: Record<string, OptionSpec> = {
  object: {
    type: "string",
    help: "use this loaded object's BTF instead of the kernel's",
    complete: "object",
  },
};

/** `btf …`. */
export const btfCommand: CommandSpec = {
  name: "btf",
  group: "Inspect",
  summary: "a type's layout; btf has TYPE FIELD; btf names RE",
  description: "show a type's C layout with offsets and sizes (`btf task_struct`)",
  args: [{
    name: "type",
    help: "e.g. task_struct, 'struct iov_iter'",
    required: true,
    variadic: true,
    complete: "btf-type",
  }],
  options: OBJECT,
  async run(ctx, { args, opts }) {
    const btf = await pickBtf(ctx, opts.object as string | undefined);
    const type = (args.type as string[]).join(" ");
    const text = btf.format(type);
    if (ctx.out.format === "table") ctx.out.line(text.trimEnd());
    else ctx.out.record({ type, layout: text });
  },
  subcommands: [
    {
      name: "has",
      summary: "whether a type has a field (the CO-RE question)",
      args: [
        { name: "type", help: "the type", required: true, complete: "btf-type" },
        { name: "field", help: "the field", required: true },
      ],
      extraPositionals: true,
      options: OBJECT,
      async run(ctx, { positionals, opts }) {
        const btf = await pickBtf(ctx, opts.object as string | undefined);
        // `btf has struct iov_iter __iov`: the last word is the field, the rest the type.
        const field = positionals[positionals.length - 1];
        const type = positionals.slice(0, -1).join(" ");
        const yes = btf.hasField(type, field);
        if (ctx.out.format === "table") {
          ctx.out.line(yes ? `${type} has ${field}` : `${type} has no field ${field}`);
        } else ctx.out.record({ type, field, present: yes });
        if (!yes && !ctx.interactive) throw new ShellError(`${type} has no field '${field}'`);
      },
    },
    {
      name: "names",
      summary: "type names matching a regex",
      args: [{ name: "regex", help: "e.g. ^sock", variadic: true }],
      options: OBJECT,
      async run(ctx, { args, opts }) {
        const btf = await pickBtf(ctx, opts.object as string | undefined);
        let re: RegExp;
        try {
          re = new RegExp((args.regex as string[]).join(" ") || ".");
        } catch (e) {
          throw new ShellError(`bad regex: ${(e as Error).message}`, { usage: true });
        }
        const names = btf.names("").filter((n) => re.test(n));
        ctx.out.table(names.map((name) => ({ name })), { empty: "no matching types" });
      },
    },
  ],
};

async function pickBtf(ctx: Ctx, object?: string): Promise<Btf> {
  if (object !== undefined) {
    const lo = ctx.session.object(object);
    const btf = lo.obj.btf;
    if (!btf) throw new ShellError(`${lo.name} has no BTF`, { hint: "compile it with -g" });
    return btf;
  }
  const { Btf } = await loadCore();
  return Btf.kernel();
}
