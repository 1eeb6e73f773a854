/**
 * `bpfsh -e 'PROGRAM' [args]`, `bpfsh FILE.bt [args]`, `bpfsh -l [GLOB]` / `-lv`, and
 * `--emit-c`: the probe language from the command line, with bpftrace's output (the
 * "Attaching N probes..." line, printf output as it comes, every map at exit) or its
 * `-f json` lines with `--json`.
 *
 * @module
 */

import { ProbeError } from "./diagnostic.ts";
import { jsonEvent } from "./format/json.ts";
import { prepare } from "./prepare.ts";
import { BpfError } from "../ffi/errors.ts";

/** Import a module on first use (computed: it stays out of the start-up module graph). */
function later<T>(path: string): Promise<T> {
  return import(new URL(path, import.meta.url).href);
}

const USAGE = `usage:
  bpfsh -e 'PROGRAM' [args]   run a bpftrace program
  bpfsh FILE.bt [args]        run a bpftrace program file
  bpfsh -l [GLOB]             list probes (tracepoint:, rawtracepoint:, uprobe:BIN:, kfunc:)
  bpfsh -lv [GLOB]            list probes with their fields or arguments

options:
  --json, -f json             bpftrace's JSON output (one object per line)
  --emit-c                    print the generated BPF C instead of running it
  -h, --help                  this help
`;

/** The parsed command line. */
interface ProbeArgs {
  program?: string;
  file?: string;
  params: string[];
  list?: string;
  verbose: boolean;
  json: boolean;
  emitC: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): ProbeArgs {
  const a: ProbeArgs = { params: [], verbose: false, json: false, emitC: false, help: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const w = argv[i];
    if (w === "--") {
      i++;
      break;
    } else if (w === "-e") {
      if (i + 1 >= argv.length) throw new Error("-e needs a program");
      a.program = argv[++i];
    } else if (w === "-l" || w === "-lv") {
      a.list = "";
      if (w === "-lv") a.verbose = true;
      if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("-")) a.list = argv[++i];
    } else if (w === "-v") a.verbose = true;
    else if (w === "--json") a.json = true;
    else if (w === "-f" || w === "--format") {
      const f = argv[++i];
      if (f !== "json" && f !== "text") throw new Error(`unknown output format '${f ?? ""}'`);
      a.json = f === "json";
    } else if (w === "--emit-c") a.emitC = true;
    else if (w === "-h" || w === "--help") a.help = true;
    else if (w === "run") continue;
    else if (w.startsWith("-") && w !== "-") {
      throw new Error(`unknown option '${w}' (bpfsh supports -e, -l, -lv, -f json, --emit-c)`);
    } else break;
  }
  const rest = argv.slice(i);
  if (a.program === undefined && a.list === undefined && rest.length) a.file = rest.shift();
  a.params = rest;
  return a;
}

/**
 * Run a probe-language command line.
 *
 * @param argv The arguments (as given to bpfsh).
 * @returns The exit status.
 * @example
 * ```ts
 * Deno.exit(await probeMain(["-e", "BEGIN { printf(\"hi\\n\"); exit(); }"]));
 * ```
 */
export async function probeMain(argv: string[]): Promise<number> {
  let args: ProbeArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.list !== undefined) {
    const { formatListing, listProbes } = await later<typeof import("./listing.ts")>(
      "./listing.ts",
    );
    await writeOut(formatListing(listProbes(args.list, args.verbose)));
    return 0;
  }
  let text: string;
  let name = "stdin";
  if (args.program !== undefined) text = args.program;
  else if (args.file) {
    name = args.file;
    try {
      text = await Deno.readTextFile(args.file);
    } catch (e) {
      console.error(`ERROR: failed to open file '${args.file}': ${(e as Error).message}`);
      return 1;
    }
  } else {
    console.error(USAGE);
    return 2;
  }
  try {
    if (args.emitC) {
      const { compileProbe } = await later<typeof import("./compile.ts")>("./compile.ts");
      await writeOut(compileProbe(text, { params: args.params, name, standalone: true }).c);
      return 0;
    }
    return await run(text, name, args);
  } catch (e) {
    report(e);
    return 1;
  }
}

/** Print an error the way bpftrace does (ERROR: ...), with the hint. */
function report(e: unknown): void {
  if (e instanceof ProbeError) console.error(e.diagnostic);
  else if (e instanceof BpfError) console.error(`ERROR: ${e.message}`);
  else console.error(`ERROR: ${e instanceof Error ? e.message : String(e)}`);
}

const encoder = new TextEncoder();

async function writeOut(text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}

async function run(text: string, name: string, args: ProbeArgs): Promise<number> {
  let pending: string[] = [];
  let broken = false;
  let flushQueued = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const flush = () => {
    flushQueued = false;
    if (!pending.length || broken) return;
    const chunk = encoder.encode(pending.join(""));
    pending = [];
    try {
      let off = 0;
      while (off < chunk.length) off += Deno.stdout.writeSync(chunk.subarray(off));
    } catch {
      // The reader went away (a closed pipe): stop as if interrupted.
      broken = true;
      finish();
    }
  };
  const out = (s: string) => {
    pending.push(s);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flush);
    }
  };
  // Compile first; the runtime loads once only waiting is left (while clang runs).
  let waiting!: () => void;
  const waited = new Promise<void>((r) => (waiting = r));
  const prepared = prepare(text, { params: args.params, name, onWaiting: waiting });
  prepared.catch(() => {}); // reported by start() below
  await Promise.race([waited, prepared.catch(() => {})]);
  const { ProbeProgram } = await later<typeof import("./runner.ts")>("./runner.ts");
  const p = await ProbeProgram.start(text, {
    prepared,
    params: args.params,
    name,
    format: args.json ? "json" : "text",
    onOutput: out,
    onExit: () => finish(),
    onAttaching: (n) => {
      out(
        args.json
          ? jsonEvent("attached_probes", `{"probes": ${n}}`) + "\n"
          : `Attaching ${n} probe${n === 1 ? "" : "s"}...\n`,
      );
      flush();
    },
  });
  if (Deno.env.get("__BPFTRACE_NOTIFY_PROBES_ATTACHED") !== undefined) {
    console.error("__BPFTRACE_NOTIFY_PROBES_ATTACHED");
  }
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) Deno.exit(130);
    finish();
  };
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    await done;
    await p.stop();
    flush();
    if (!broken) {
      if (args.json) out(p.printJson().map((l) => l + "\n").join(""));
      else out("\n\n" + p.print());
      flush();
    }
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await p.close();
  }
  return 0;
}
