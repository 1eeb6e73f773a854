/**
 * The probe language in TypeScript: a tagged template that compiles, loads and starts a
 * program, returning the running {@link ProbeProgram} (maps as `BpfMap`s, printf lines
 * as an async iterable, `print()` in bpftrace's format, `close()`).
 *
 * The compiler is imported on the first call, so importing `mod.ts` costs nothing for
 * scripts that never use it.
 *
 * @module
 */

import type { ProbeOptions, ProbeProgram } from "./runner.ts";

/** A tag that starts a program. */
export type ProbeTag = (
  strings: TemplateStringsArray,
  ...values: unknown[]
) => Promise<ProbeProgram>;

/**
 * Join a template's pieces as written (raw: `printf("%d\n")` keeps its backslash for the
 * probe language's own escapes); values are inserted as text.
 */
function joinTemplate(strings: TemplateStringsArray, values: unknown[]): string {
  let text = strings.raw[0];
  values.forEach((v, i) => {
    text += String(v) + strings.raw[i + 1];
  });
  return text;
}

/**
 * Compile, load and start a bpftrace program (what the `probe` tag does).
 *
 * @param text The program.
 * @param opts Positional parameters, output format and handling, cache directory.
 * @returns The running program.
 * @throws {ProbeError} For errors in the program, with line:column and a caret.
 * @example
 * ```ts
 * import { startProbe } from "./mod.ts";
 *
 * const p = await startProbe("BEGIN { printf(\"%d\\n\", $1); exit(); }", { params: ["42"] });
 * for await (const line of p) console.log(line); // "42"
 * await p.close();
 * ```
 */
export async function startProbe(text: string, opts: ProbeOptions = {}): Promise<ProbeProgram> {
  // Computed specifiers: the compiler and runtime load only when first used, and the
  // runtime loads while clang runs.
  const { prepare } = await import(
    new URL("./prepare.ts", import.meta.url).href
  ) as typeof import("./prepare.ts");
  const prepared = prepare(text, {
    params: opts.params,
    name: opts.name ?? "probe",
    cacheDir: opts.cacheDir,
  });
  prepared.catch(() => {}); // reported by start()
  const runner: typeof import("./runner.ts") = await import(
    new URL("./runner.ts", import.meta.url).href
  );
  return await runner.ProbeProgram.start(text, { name: "probe", prepared, ...opts });
}

/**
 * Start a bpftrace program. The text is taken as written (escapes such as `\n` are the
 * probe language's), and interpolated values are inserted as text. Use
 * `probe.with({ params, format, cacheDir })` for options.
 *
 * @param strings The template's text pieces.
 * @param values The interpolated values.
 * @returns The running program; `await using` stops and frees it at the end of the block.
 * @example
 * ```ts
 * import { probe } from "./mod.ts";
 *
 * await using p = await probe`tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }`;
 * await new Deno.Command("/bin/true").output();
 * for (const [comm, n] of p.maps["@"].entries()) console.log(comm, n);
 * console.log(p.print()); // @[true]: 3 …, as bpftrace prints it
 * ```
 */
export const probe: ProbeTag & { with(opts: ProbeOptions): ProbeTag } = Object.assign(
  (strings: TemplateStringsArray, ...values: unknown[]) =>
    startProbe(joinTemplate(strings, values)),
  {
    with: (opts: ProbeOptions): ProbeTag => (strings, ...values) =>
      startProbe(joinTemplate(strings, values), opts),
  },
);
