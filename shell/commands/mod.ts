/**
 * Every command group, registered on the root command in the order `help` lists them.
 *
 * @module
 */

import type { Command } from "commander";
import type { Ctx } from "../dispatch.ts";
import { register as registerObjects } from "./objects.ts";
import { register as registerMap } from "./map.ts";
import { register as registerStream } from "./stream.ts";
import { register as registerRun } from "./run.ts";
import { register as registerBtf } from "./btf.ts";
import { register as registerMisc } from "./misc.ts";
import { register as registerProbes } from "./probes.ts";

/**
 * Register all commands.
 *
 * @param program The root command.
 * @param ctx What the commands use.
 * @example
 * ```ts
 * registerAll(new Command("bpfsh"), ctx);
 * ```
 */
export function registerAll(program: Command, ctx: Ctx): void {
  registerObjects(program, ctx);
  registerProbes(program, ctx);
  registerMap(program, ctx);
  registerStream(program, ctx);
  registerRun(program, ctx);
  registerBtf(program, ctx);
  registerMisc(program, ctx);
}

/**
 * Collect a repeatable option's values (commander's reducer).
 *
 * @param value This occurrence.
 * @param previous The values so far.
 * @returns All values.
 * @example
 * ```ts
 * cmd.option("--set <var=val>", "set a global", collect, []);
 * ```
 */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
