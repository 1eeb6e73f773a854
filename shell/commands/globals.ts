/**
 * `globals [VAR [VALUE]]`: an object's global variables, one of them, or set one.
 *
 * @module
 */

import { ShellError } from "../errors.ts";
import { formatCell } from "../output.ts";
import { parseValue } from "../values.ts";
import type { CommandSpec } from "./types.ts";
import { safe } from "./util.ts";

/**
 * Whether a global is one the compiler made, not the program's author: a function's `static`
 * variable, which clang names `function.variable` (e.g. `____sched_switch.zero`, from a
 * tracing macro); a C name never holds a dot.
 *
 * @param name The variable's name in the object's BTF.
 * @returns True for compiler-internal statics.
 * @example
 * ```ts
 * isInternalStatic("____sched_switch.zero"); // true
 * isInternalStatic("filter_pid"); // false
 * ```
 */
export function isInternalStatic(name: string): boolean {
  return name.includes(".");
}

/**
 * The names of an object's global variables (compiler-internal statics left out).
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
    return obj.globalsInfo().map((g) => g.name).filter((n) => !isInternalStatic(n));
  } catch {
    return [];
  }
}

/** `globals`. */
export const globalsCommand: CommandSpec = {
  name: "globals",
  group: "Objects",
  summary: "list globals, read one, or set one",
  description: "show global variables, one, or set one (.data/.bss live; .rodata before load)",
  args: [
    { name: "var", help: "the variable (name or object.name)" },
    { name: "value", help: "the new value" },
  ],
  options: {
    object: { type: "string", help: "the object (default: the most recent)", complete: "object" },
    all: { type: "boolean", help: "also list the compiler's own statics (function.variable)" },
  },
  run({ session, out }, { args, opts }) {
    let name = args.var as string | undefined;
    let objectName = opts.object as string | undefined;
    if (name?.includes(".") && session.objects.has(name.split(".")[0])) {
      [objectName, name] = [name.slice(0, name.indexOf(".")), name.slice(name.indexOf(".") + 1)];
    }
    const lo = session.object(objectName);
    const globals = lo.obj.globals as Record<string, unknown>;
    const info = lo.obj.globalsInfo();
    if (name === undefined) {
      const shown = opts.all ? info : info.filter((g) => !isInternalStatic(g.name));
      const hidden = info.length - shown.length;
      out.table(
        shown.map((g) => ({
          name: g.name,
          section: g.section,
          type: g.type,
          value: safe(() => globals[g.name]),
        })),
        { empty: `${lo.name} has no global variables` },
      );
      if (hidden && out.format === "table") {
        out.info(
          `(${hidden} compiler-internal static${hidden === 1 ? "" : "s"} not shown: globals --all)`,
        );
      }
      return;
    }
    if (!info.some((g) => g.name === name)) {
      throw new ShellError(`no global named '${name}' in ${lo.name}`, {
        hint: `globals: ${globalNames(lo.obj).join(", ") || "none"}`,
      });
    }
    if (args.value !== undefined) globals[name] = parseValue(args.value as string);
    const value = globals[name];
    if (out.format === "table") {
      out.line(
        `${name} = ${typeof value === "string" ? JSON.stringify(value) : formatCell(value)}`,
      );
    } else out.record({ name, value });
  },
};
