/**
 * `btf`: kernel (or object) BTF inspection — a type's C layout with offsets, whether a field
 * exists (the CO-RE question), and type names matching a pattern.
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { type Btf, loadCore } from "../core.ts";
import { ShellError } from "../errors.ts";

/**
 * Register `btf`.
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
  program.command("btf").helpGroup("Inspect:")
    .summary("a kernel type's layout; btf has TYPE FIELD; btf names RE")
    .description(
      "show a type's layout (`btf task_struct`), test a field (`btf has TYPE FIELD`), find names (`btf names RE`)",
    )
    .argument("<args...>", "TYPE | has TYPE FIELD | names REGEX")
    .usage("<type> | has <type> <field> | names <regex>  [--object NAME]")
    .option("--object <name>", "use this loaded object's BTF instead of the kernel's")
    .action(async (args: string[], opts: { object?: string }) => {
      const btf = await pickBtf(opts.object);
      if (args[0] === "has") {
        if (args.length < 3) throw new ShellError("btf has takes TYPE FIELD", { usage: true });
        const field = args[args.length - 1];
        const type = args.slice(1, -1).join(" ");
        const yes = btf.hasField(type, field);
        if (out.format === "table") {
          out.line(yes ? `${type} has ${field}` : `${type} has no field ${field}`);
        } else out.record({ type, field, present: yes });
        if (!yes && !ctx.interactive) throw new ShellError(`${type} has no field '${field}'`);
        return;
      }
      if (args[0] === "names") {
        let re: RegExp;
        try {
          re = new RegExp(args.slice(1).join(" ") || ".");
        } catch (e) {
          throw new ShellError(`bad regex: ${(e as Error).message}`, { usage: true });
        }
        const names = btf.names("").filter((n) => re.test(n));
        out.table(names.map((name) => ({ name })), { empty: "no matching types" });
        return;
      }
      const type = args.join(" ");
      const text = btf.format(type);
      if (out.format === "table") out.line(text.trimEnd());
      else out.record({ type, layout: text });
    });

  async function pickBtf(object?: string): Promise<Btf> {
    if (object !== undefined) {
      const lo = session.object(object);
      const btf = lo.obj.btf;
      if (!btf) throw new ShellError(`${lo.name} has no BTF`, { hint: "compile it with -g" });
      return btf;
    }
    const { Btf } = await loadCore();
    return Btf.kernel();
  }
}
