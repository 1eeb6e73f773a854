/**
 * The probe language in TypeScript: a tagged template that compiles, loads and starts a
 * program, returning the running {@link ProbeProgram} (maps as `BpfMap`s, printf lines
 * as an async iterable, `print()` in bpftrace's format, `close()`).
 *
 * The compiler is imported on the first call, so importing `mod.ts` costs nothing for
 * scripts that never use it. Programs are built as `bpfsh -e` builds them: by the direct
 * back end where it can (no C compiler), else through clang.
 *
 * @module
 */

import type { BpfObject } from "../bpf/object/object.ts";
import { importLater } from "./bundle.ts";
import type { ProbeBackend } from "./direct/start.ts";
import type { ProbeObject } from "./loaded.ts";
import type { ProbeOptions, ProbeProgram } from "./runner.ts";

/** A tag that starts a program. */
export type ProbeTag = (
  strings: TemplateStringsArray,
  ...values: unknown[]
) => Promise<ProbeProgram<ProbeObject>>;

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

/** Options of {@link startProbe}: the runner's, and the back end that builds the program. */
export interface StartProbeOptions extends ProbeOptions {
  /**
   * `auto` (the default, or what `BPFSH_PROBE_BACKEND` says): the direct back end where it
   * covers the program and the kernel loads what it made, else C; `direct`: the direct one
   * only (what it cannot build is an error); `c`: clang and the compile cache, the program
   * a `BpfObject` (as the shell's session holds it).
   */
  backend?: ProbeBackend;
}

/**
 * Compile, load and start a bpftrace program through clang and the compile cache: its
 * `object` is the `BpfObject` (what the shell's session holds).
 *
 * @param text The program.
 * @param opts The options, with `backend: "c"`.
 * @returns The running program.
 * @throws {ProbeError} For errors in the program, with line:column and a caret.
 * @example
 * ```ts
 * import { startProbe } from "./mod.ts";
 *
 * await using p = await startProbe("BEGIN { @n = count(); exit(); }", { backend: "c" });
 * console.log(p.object.programs.map((prog) => prog.name)); // ["probe_0"]
 * ```
 */
export function startProbe(
  text: string,
  opts: StartProbeOptions & { backend: "c" },
): Promise<ProbeProgram<BpfObject>>;
/**
 * Compile, load and start a bpftrace program (what the `probe` tag does). Most programs
 * need no C compiler (the direct back end); uprobes, kprobes, kfuncs and stacks are built
 * through clang.
 *
 * @param text The program.
 * @param opts Positional parameters, output format and handling, cache directory, back end.
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
export function startProbe(
  text: string,
  opts?: StartProbeOptions,
): Promise<ProbeProgram<ProbeObject>>;
export async function startProbe(
  text: string,
  opts: StartProbeOptions = {},
): Promise<ProbeProgram<ProbeObject>> {
  const name = opts.name ?? "probe";
  const { probeBackend, startDirect } = await importLater<typeof import("./direct/start.ts")>(
    "probe/direct/start.ts",
  );
  const backend = opts.backend && opts.backend !== "auto" ? opts.backend : probeBackend();
  if (backend !== "c") {
    const started = await startDirect(text, {
      params: opts.params,
      name,
      onAttaching: opts.onAttaching,
      strict: backend === "direct",
    });
    if (started) {
      const runner = await importLater<typeof import("./runner.ts")>("probe/runner.ts");
      return runner.ProbeProgram.adopt(started, { ...opts, name });
    }
  }
  // The runtime loads while clang runs.
  const { prepare } = await importLater<typeof import("./prepare.ts")>("probe/prepare.ts");
  const prepared = prepare(text, { params: opts.params, name, cacheDir: opts.cacheDir });
  prepared.catch(() => {}); // reported by start()
  const runner = await importLater<typeof import("./runner.ts")>("probe/runner.ts");
  return await runner.ProbeProgram.start(text, { ...opts, name, prepared });
}

/**
 * Start a bpftrace program. The text is taken as written (escapes such as `\n` are the
 * probe language's), and interpolated values are inserted as text. Use
 * `probe.with({ params, format, cacheDir, backend })` for options.
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
export const probe: ProbeTag & { with(opts: StartProbeOptions): ProbeTag } = Object.assign(
  (strings: TemplateStringsArray, ...values: unknown[]) =>
    startProbe(joinTemplate(strings, values)),
  {
    with: (opts: StartProbeOptions): ProbeTag => (strings, ...values) =>
      startProbe(joinTemplate(strings, values), opts),
  },
);
