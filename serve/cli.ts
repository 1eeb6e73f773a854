/**
 * The `bpfsh serve` command line: headless, no REPL.
 *
 * ```
 * bpfsh serve CONFIG.yaml|FILE.bt... [-e 'PROGRAM']... [options]
 *   --listen HOST:PORT    serve /metrics and /healthz (default 127.0.0.1:9435)
 *   --push URL            push to a Pushgateway at exit; --push-interval N: also every N s
 *   --job NAME            the Pushgateway job (default bpfsh)
 *   --otlp URL            events as OTLP logs, metrics as OTLP metrics (every --otlp-interval s)
 *   --duration N          stop after N seconds
 * ```
 *
 * `-e 'PROGRAM'` and `FILE.bt` serve a probe-language program's maps with no config
 * (serve/probe_metrics.ts says how each map becomes a metric). SIGTERM, SIGINT and SIGHUP
 * stop it cleanly (a last push and export, everything detached) with status 0; so does
 * exit() in a probe program.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfError } from "../ffi/errors.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { isProbeConfig, loadConfig, readServeFile, type ServeConfig } from "./config.ts";
import { DEFAULT_LISTEN, Serve, type ServeOptions, type ServeUnit } from "./server.ts";
import type { ProbeUnit, ProbeUnitOptions } from "./probe_unit.ts";

/** The usage text. */
export const SERVE_USAGE = `usage: bpfsh serve CONFIG.yaml|FILE.bt... [-e 'PROGRAM']... [options]

Loads what each config names and serves its maps as Prometheus metrics (read at scrape
time) and its events as OpenTelemetry logs, until SIGTERM or SIGINT. A probe-language
program (-e, or a .bt file) needs no config: each map is a metric named after it,
labelled by its keys (@execs[comm] = count() is bpfsh_execs_total{comm="..."}), and
what it prints goes to --otlp as log records (else to stdout).

options:
  -e, --program PROGRAM  serve a probe-language program's maps (repeatable)
  --listen HOST:PORT     /metrics and /healthz (default ${DEFAULT_LISTEN}; :PORT = every interface)
  --push URL             push to a Pushgateway when stopping (then no HTTP unless --listen)
  --push-interval N      also push every N seconds
  --job NAME             Pushgateway job name (default bpfsh)
  --otlp URL             OTLP/HTTP collector (e.g. http://127.0.0.1:4318): events, metrics
  --otlp-interval N      seconds between OTLP metric exports (default 10)
  --duration N           stop after N seconds
  -h, --help             this help
`;

function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new BpfError({ op: "serve", message: `${flag} needs a number of seconds above 0` });
  }
  return n;
}

/**
 * Parse the arguments after `serve`.
 *
 * @param args The words.
 * @returns The config files and options, or `help`.
 * @throws {BpfError} op `serve` on unknown options or missing values.
 * @example
 * ```ts
 * parseServeArgs(["x.yaml", "--listen", ":9435"]).options.listen; // ":9435"
 * ```
 */
export function parseServeArgs(
  args: string[],
): { configs: string[]; programs: string[]; options: ServeOptions; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        listen: { type: "string" },
        push: { type: "string" },
        "push-interval": { type: "string" },
        job: { type: "string" },
        otlp: { type: "string" },
        "otlp-interval": { type: "string" },
        duration: { type: "string" },
        help: { type: "boolean", short: "h" },
        program: { type: "string", short: "e", multiple: true },
      },
    });
  } catch (e) {
    throw new BpfError({ op: "serve", message: (e as Error).message, hint: "bpfsh serve -h" });
  }
  const v = parsed.values;
  const options: ServeOptions = {
    listen: v.listen,
    push: v.push,
    pushInterval: seconds(v["push-interval"], "--push-interval"),
    job: v.job,
    otlp: v.otlp,
    otlpInterval: seconds(v["otlp-interval"], "--otlp-interval"),
    duration: seconds(v.duration, "--duration"),
  };
  if (options.pushInterval && !options.push) {
    throw new BpfError({ op: "serve", message: "--push-interval needs --push URL" });
  }
  return {
    configs: parsed.positionals,
    programs: v.program ?? [],
    options,
    help: v.help ?? false,
  };
}

/**
 * Open the object of a config (not loaded yet).
 *
 * @param cfg The config.
 * @returns The unit to serve.
 */
export async function configUnit(cfg: ServeConfig): Promise<ServeUnit> {
  const rel = (p: string) => p.startsWith("/") ? p : `${cfg.baseDir}/${p}`;
  if (isProbeConfig(cfg)) {
    if (cfg.probe !== undefined) {
      const name = cfg.name ?? cfg.source;
      return await probeUnit(cfg.probe, { source: cfg.source, name, params: cfg.params });
    }
    return await probeFile(rel(cfg.object!), cfg.source, cfg.params, cfg.name);
  }
  const path = rel(cfg.object!);
  const obj = await BpfObject.open(path, cfg.name ? { name: cfg.name } : {});
  return {
    obj,
    source: cfg.source,
    globals: cfg.globals,
    attach: cfg.attach,
    metrics: cfg.metrics,
    events: cfg.events,
  };
}

/**
 * Compile a probe-language program to serve (nothing loaded yet).
 *
 * @param text The program.
 * @param opts Where it came from, its parameters.
 * @returns The unit.
 * @throws {ProbeError} For errors in the program.
 */
export async function probeUnit(text: string, opts: ProbeUnitOptions): Promise<ProbeUnit> {
  const { ProbeUnit } = await import(
    new URL("./probe_unit.ts", import.meta.url).href
  ) as typeof import("./probe_unit.ts");
  return await ProbeUnit.compile(text, opts);
}

async function probeFile(
  path: string,
  source: string,
  params?: string[],
  name = path,
): Promise<ProbeUnit> {
  const text = await readServeFile(path, source === path ? undefined : source);
  return await probeUnit(text, { source, name, params });
}

function report(e: unknown): void {
  // A probe program's error is its diagnostic: the line, a caret under the fault, a hint.
  const diagnostic = (e as { diagnostic?: unknown })?.diagnostic;
  if (e instanceof BpfError && e.op === "probe" && typeof diagnostic === "string") {
    console.error(diagnostic);
  } else console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Run `bpfsh serve` until a signal or the duration ends it.
 *
 * @param args The words after `serve`.
 * @returns The exit status.
 * @example
 * ```ts
 * Deno.exit(await serveMain(["examples/execs.yaml", "--listen", "127.0.0.1:9435"]));
 * ```
 */
export async function serveMain(args: string[]): Promise<number> {
  const units: ServeUnit[] = [];
  let serve: Serve;
  try {
    const { configs, programs, options, help } = parseServeArgs(args);
    if (help) {
      console.log(SERVE_USAGE);
      return 0;
    }
    if (!configs.length && !programs.length) {
      throw new BpfError({
        op: "serve",
        message: "no config or program given",
        hint: SERVE_USAGE.split("\n")[0],
      });
    }
    for (const c of configs) {
      units.push(
        /\.bt$/.test(c) ? await probeFile(c, c) : await configUnit(await loadConfig(c)),
      );
    }
    for (const [i, text] of programs.entries()) {
      const source = programs.length > 1 ? `-e #${i + 1}` : "-e";
      units.push(await probeUnit(text, { source, name: "stdin" }));
    }
    serve = await Serve.start(units, options);
  } catch (e) {
    for (const u of units) {
      if (u.kind === "probe") await u.close();
      else u.obj.close();
    }
    report(e);
    return e instanceof BpfError && e.op === "serve" ? 2 : 1;
  }
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    Deno.addSignalListener(sig, () => serve.stop());
  }
  return await serve.done;
}
