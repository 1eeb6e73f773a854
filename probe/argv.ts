/**
 * Whether a `bpfsh` command line is a probe-language one (`-e`, `-l`, a `.bt` file,
 * `--emit-c`): the launcher then hands it to ./cli.ts without loading the shell.
 * Kept tiny, as the launcher imports it on every start.
 *
 * @module
 */

/**
 * Tell whether a command line is for the probe language.
 *
 * @param argv The arguments.
 * @returns True for `-e PROGRAM`, `-l`/`-lv [GLOB]`, `[run] FILE.bt` and `--emit-c`.
 * @example
 * ```ts
 * isProbeCommandLine(["-e", "BEGIN { exit(); }"]); // true
 * ```
 */
export function isProbeCommandLine(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-e" || a === "-l" || a === "-lv" || a === "--emit-c") return true;
    if (a === "-c" || a === "--command") return false;
    // bpftrace's `-f json` may come first: its value is not the command word.
    if (a === "-f" || a === "--format") i++;
    else if (!a.startsWith("-")) {
      return /\.bt$/.test(a) || (a === "run" && /\.bt$/.test(argv[i + 1] ?? ""));
    }
  }
  return false;
}
