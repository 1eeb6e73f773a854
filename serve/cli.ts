/**
 * The `bpfsh serve` command line: headless, no REPL.
 *
 * ```
 * bpfsh serve CONFIG.yaml [CONFIG.yaml...] [options]
 *   --listen HOST:PORT    serve /metrics and /healthz (default 127.0.0.1:9435)
 *   --push URL            push to a Pushgateway at exit; --push-interval N: also every N s
 *   --job NAME            the Pushgateway job (default bpfsh)
 *   --otlp URL            events as OTLP logs, metrics as OTLP metrics (every --otlp-interval s)
 *   --duration N          stop after N seconds
 * ```
 *
 * SIGTERM, SIGINT and SIGHUP stop it cleanly (a last push and export, everything detached)
 * with status 0.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BpfError } from "../ffi/errors.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { loadConfig, type ServeConfig } from "./config.ts";
import { DEFAULT_LISTEN, Serve, type ServeOptions, type ServeUnit } from "./server.ts";

/** The usage text. */
export const SERVE_USAGE = `usage: bpfsh serve CONFIG.yaml [CONFIG.yaml...] [options]

Loads what each config names and serves its maps as Prometheus metrics (read at scrape
time) and its events as OpenTelemetry logs, until SIGTERM or SIGINT.

options:
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
): { configs: string[]; options: ServeOptions; help: boolean } {
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
  return { configs: parsed.positionals, options, help: v.help ?? false };
}

/**
 * Open the object of a config (not loaded yet).
 *
 * @param cfg The config.
 * @returns The unit to serve.
 */
export async function configUnit(cfg: ServeConfig): Promise<ServeUnit> {
  const path = cfg.object.startsWith("/") ? cfg.object : `${cfg.baseDir}/${cfg.object}`;
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

function report(e: unknown): void {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
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
    const { configs, options, help } = parseServeArgs(args);
    if (help) {
      console.log(SERVE_USAGE);
      return 0;
    }
    if (!configs.length) {
      throw new BpfError({
        op: "serve",
        message: "no config given",
        hint: SERVE_USAGE.split("\n")[0],
      });
    }
    for (const c of configs) units.push(await configUnit(await loadConfig(c)));
    serve = await Serve.start(units, options);
  } catch (e) {
    for (const u of units) u.obj.close();
    report(e);
    return e instanceof BpfError && e.op === "serve" ? 2 : 1;
  }
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    Deno.addSignalListener(sig, () => serve.stop());
  }
  return await serve.done;
}
