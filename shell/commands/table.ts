/**
 * The command table: every command of the shell, in the order `help` lists them. A command
 * is one file exporting a {@link CommandSpec}, and one entry here.
 *
 * @module
 */

import type { CommandSpec } from "./types.ts";
import { objectCommand } from "./object.ts";
import { globalsCommand } from "./globals.ts";
import { progCommand } from "./prog.ts";
import { linkCommand } from "./link.ts";
import { runCommand } from "./run.ts";
import { mapCommand, progarrayCommand } from "./map.ts";
import { tailCommand, traceCommand } from "./stream.ts";
import { btfCommand } from "./btf.ts";
import { iterCommand, probesCommand } from "./probes.ts";
import { probeCommand } from "./probe.ts";
import {
  doctorCommand,
  exitCommand,
  formatCommand,
  helpCommand,
  pinCommand,
  sleepCommand,
  sourceCommand,
} from "./shell.ts";

/**
 * Every command, in help order.
 *
 * @example
 * ```ts
 * COMMANDS.map((c) => c.name); // ["object", "globals", "pin", "prog", ...]
 * ```
 */
export const COMMANDS: readonly CommandSpec[] = [
  objectCommand,
  globalsCommand,
  pinCommand,
  progCommand,
  linkCommand,
  runCommand,
  probeCommand,
  iterCommand,
  mapCommand,
  progarrayCommand,
  tailCommand,
  traceCommand,
  btfCommand,
  probesCommand,
  helpCommand,
  sourceCommand,
  formatCommand,
  sleepCommand,
  doctorCommand,
  exitCommand,
];
