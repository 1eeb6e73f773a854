/**
 * Run by `deno run --preload` before a script that `bpfsh run` starts: the script is then
 * the main module, with bpfsh's cleanup around it.
 *
 * @module
 */

import { prepareScriptRun } from "./script_cleanup.ts";

prepareScriptRun();
