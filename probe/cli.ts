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
import { BpfError } from "../ffi/errors.ts";
import type { ArgsSpec } from "../shell/args.ts";
import { importLater, OutsideBundle } from "./bundle.ts";

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
export interface ProbeArgs {
  /** `-e PROGRAM`. */
  program?: string;
  /** A program file (`FILE.bt`). */
  file?: string;
  /** Positional parameters: `$1`, `$2`… */
  params: string[];
  /** `-l [GLOB]`: the glob ("" for every probe). */
  list?: string;
  /** `-v` / `-lv`: fields and arguments too. */
  verbose: boolean;
  /** `--json` or `-f json`. */
  json: boolean;
  /** `--emit-c`. */
  emitC: boolean;
  /** `-h`, `--help`. */
  help: boolean;
}

/** The command line, declared for the shell's and the scripts' one argument parser. */
const PROBE_OPTIONS: ArgsSpec = {
  options: {
    program: { type: "string", short: "e", arg: "PROGRAM", help: "run a bpftrace program" },
    list: { type: "boolean", short: "l", help: "list probes" },
    verbose: { type: "boolean", short: "v", help: "with -l: their fields or arguments" },
    json: { type: "boolean", help: "bpftrace's JSON output" },
    format: { type: "string", short: "f", arg: "json|text", help: "the output format" },
    "emit-c": { type: "boolean", help: "print the generated BPF C instead of running it" },
    help: { type: "boolean", short: "h", help: "this help" },
  },
};

/**
 * Read a probe-language command line, as bpftrace reads its own.
 *
 * @param argv The arguments (as given to bpfsh).
 * @returns What to run or list, and how.
 * @throws {ArgError} On an unknown option, a missing value or an unknown output format.
 * @example
 * ```ts
 * await parseProbeArgs(["-f", "json", "-e", "BEGIN { exit(); }", "5"]); // { program, params: ["5"], json: true, … }
 * ```
 */
export async function parseProbeArgs(argv: string[]): Promise<ProbeArgs> {
  return quickProbeArgs(argv) ?? await parseProbeArgsFully(argv);
}

/**
 * Read a probe-language command line with the option parser, whatever its form (what
 * {@link parseProbeArgs} does when {@link quickProbeArgs} cannot).
 *
 * @param argv The arguments.
 * @returns What to run or list, and how.
 * @throws {ArgError} On an unknown option, a missing value or an unknown output format.
 * @example
 * ```ts
 * await parseProbeArgsFully(["-e", "BEGIN { exit(); }"]); // as quickProbeArgs reads it
 * ```
 */
export async function parseProbeArgsFully(argv: string[]): Promise<ProbeArgs> {
  const { ArgError, parseWords } = await importLater<typeof import("../shell/args.ts")>(
    "shell/args.ts",
  );
  const { opts, positionals } = parseWords(argv, PROBE_OPTIONS, { extraPositionals: true });
  const format = opts.format as string | undefined;
  if (format !== undefined && format !== "json" && format !== "text") {
    throw new ArgError(`unknown output format '${format}'`);
  }
  const rest = positionals[0] === "run" ? positionals.slice(1) : positionals;
  const a: ProbeArgs = {
    params: rest,
    verbose: opts.verbose as boolean,
    json: opts.json as boolean || format === "json",
    emitC: opts["emit-c"] as boolean,
    help: opts.help as boolean,
  };
  if (opts.program !== undefined) a.program = opts.program as string;
  if (opts.list) {
    a.list = rest[0] ?? "";
    a.params = [];
  } else if (a.program === undefined && rest.length) {
    a.file = rest[0];
    a.params = rest.slice(1);
  }
  return a;
}

/**
 * The common command lines, `-e PROGRAM [PARAM...]` with at most the output format
 * (`--json`, `-f json|text`) before or after, read without the option parser (whose
 * `node:util` takes longer to load than the rest of a one-liner's start): the same
 * result as the parser's, or undefined for anything else.
 *
 * @param argv The arguments.
 * @returns The parsed line, or undefined when the option parser must read it.
 * @example
 * ```ts
 * quickProbeArgs(["-e", "BEGIN { exit(); }", "5"]); // { program, params: ["5"], … }
 * quickProbeArgs(["--json", "-e", "BEGIN { exit(); }"])?.json; // true
 * quickProbeArgs(["-v", "-e", "BEGIN { exit(); }"]); // undefined
 * ```
 */
export function quickProbeArgs(argv: string[]): ProbeArgs | undefined {
  let json: boolean | undefined;
  let program: string | undefined;
  const params: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json" && json === undefined) json = true;
    else if (
      a === "-f" && json === undefined && (argv[i + 1] === "json" || argv[i + 1] === "text")
    ) {
      json = argv[++i] === "json";
    } else if (a === "-e" && program === undefined && i + 1 < argv.length) program = argv[++i];
    // Any other word the parser could read as an option (or a `run` word) is left to it.
    else if (a.startsWith("-") || program === undefined || (a === "run" && !params.length)) {
      return undefined;
    } else params.push(a);
  }
  if (program === undefined) return undefined;
  return { program, params, verbose: false, json: json ?? false, emitC: false, help: false };
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
    args = await parseProbeArgs(argv);
  } catch (e) {
    if (e instanceof OutsideBundle) throw e;
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.list !== undefined) {
    const { formatListing, listProbes } = await importLater<typeof import("./listing.ts")>(
      "probe/listing.ts",
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
      const { compileProbeAsync } = await importLater<typeof import("./pipeline.ts")>(
        "probe/pipeline.ts",
      );
      const spec = await compileProbeAsync(text, { params: args.params, name, standalone: true });
      await writeOut(spec.c);
      return 0;
    }
    return await run(text, name, args);
  } catch (e) {
    if (e instanceof OutsideBundle) throw e; // run again from the source tree
    report(e);
    return 1;
  }
}

type Runner = typeof import("./runner.ts");
type Output = Parameters<Runner["ProbeProgram"]["adopt"]>[1];
/** What run() does with a started program, whichever back end built it. */
interface Running {
  stop(): Promise<void>;
  print(): string;
  printJson(): string[];
  close(): Promise<void>;
}

/** bpftrace's notice for tools that wait for the probes (set in its environment). */
function notifyAttached(): void {
  if (Deno.env.get("__BPFTRACE_NOTIFY_PROBES_ATTACHED") !== undefined) {
    console.error("__BPFTRACE_NOTIFY_PROBES_ATTACHED");
  }
}

/**
 * The direct back end (probe/direct/): attached before the runtime is even read, or
 * undefined when the program needs the C back end.
 */
async function startDirectly(
  text: string,
  params: string[],
  name: string,
  onAttaching: (n: number) => void,
  output: Output,
): Promise<Running | undefined> {
  const { probeBackend, startDirect } = await importLater<typeof import("./direct/start.ts")>(
    "probe/direct/start.ts",
  );
  const backend = probeBackend();
  if (backend === "c") return undefined;
  const started = await startDirect(text, {
    params,
    name,
    onAttaching,
    strict: backend === "direct",
  });
  if (!started) return undefined;
  notifyAttached();
  const { ProbeProgram } = await importLater<Runner>("probe/runner.ts");
  return ProbeProgram.adopt(started, output);
}

/** The C back end: compile (cached), then load the runtime while clang runs. */
async function startThroughC(
  text: string,
  params: string[],
  name: string,
  onAttaching: (n: number) => void,
  output: Output,
): Promise<Running> {
  const { prepare } = await importLater<typeof import("./prepare.ts")>("probe/prepare.ts");
  let waiting!: () => void;
  const waited = new Promise<void>((r) => (waiting = r));
  const prepared = prepare(text, { params, name, onWaiting: waiting });
  prepared.catch(() => {}); // reported by start() below
  await Promise.race([waited, prepared.catch(() => {})]);
  const { ProbeProgram } = await importLater<Runner>("probe/runner.ts");
  const p = await ProbeProgram.start(text, { ...output, prepared, onAttaching });
  notifyAttached();
  return p;
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
  const onAttaching = (n: number) => {
    out(
      args.json
        ? jsonEvent("attached_probes", `{"probes": ${n}}`) + "\n"
        : `Attaching ${n} probe${n === 1 ? "" : "s"}...\n`,
    );
    flush();
  };
  const output = {
    params: args.params,
    name,
    format: args.json ? "json" as const : "text" as const,
    onOutput: out,
    onExit: () => finish(),
  };
  const p = await startDirectly(text, args.params, name, onAttaching, output) ??
    await startThroughC(text, args.params, name, onAttaching, output);
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
      // bpftrace prints two blank lines before the maps in either format.
      if (args.json) out("\n\n" + p.printJson().map((l) => l + "\n").join(""));
      else out("\n\n" + p.print());
      flush();
    }
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await p.close();
  }
  return 0;
}
