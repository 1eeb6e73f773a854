/**
 * Running probe programs under bpftrace (the oracle) and `bpfsh` side by side on one
 * workload run: every process is started, each says when its probes are attached
 * (`__BPFTRACE_NOTIFY_PROBES_ATTACHED` on stderr, which both honour), the workload runs
 * once, then all get SIGINT (or end by themselves with exit()) and print their maps.
 * Also: a parser of bpftrace's text output, so the maps are compared as data.
 *
 * @module
 */

import { ROOT } from "./helpers.ts";

/** One program to run under both tools. */
export interface OracleProgram {
  /** A label for failures. */
  name: string;
  /** The program. */
  text: string;
  /** Positional parameters. */
  args?: string[];
  /** Also run both with JSON output. */
  json?: boolean;
  /** The program ends by itself (exit()): do not interrupt it. */
  selfExit?: boolean;
}

/** What one bpfsh back end printed. */
export interface BackendRun {
  /** `BPFSH_PROBE_BACKEND`'s value ("auto": unset). */
  backend: string;
  text: string;
  json?: string;
}

/** What each tool printed for one program. */
export interface OracleRun {
  program: OracleProgram;
  bpftrace: string;
  /** The first back end's text output. */
  bpfsh: string;
  bpftraceJson?: string;
  bpfshJson?: string;
  /** Every back end's output, the first one's included. */
  backends: BackendRun[];
  /** stderr of each, for failures. */
  errors: string;
}

/** Whether bpftrace (the oracle) is installed. */
export const HAVE_BPFTRACE = (() => {
  try {
    return new Deno.Command("bpftrace", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

interface Proc {
  child: Deno.ChildProcess;
  stdout: Promise<string>;
  stderr: string;
  attached: Promise<void>;
  done: Promise<void>;
}

function spawn(cmd: string, args: string[], backend = "auto"): Proc {
  const child = new Deno.Command(cmd, {
    args,
    env: {
      __BPFTRACE_NOTIFY_PROBES_ATTACHED: "1",
      NO_COLOR: "1",
      ...(backend === "auto" ? {} : { BPFSH_PROBE_BACKEND: backend }),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const proc = { child, stderr: "" } as Proc;
  proc.stdout = new Response(child.stdout).text();
  let attached!: () => void;
  proc.attached = new Promise((r) => (attached = r));
  const t0 = performance.now();
  proc.done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      proc.stderr += dec.decode(chunk, { stream: true });
      if (proc.stderr.includes("__BPFTRACE_NOTIFY_PROBES_ATTACHED")) {
        if (Deno.env.get("ORACLE_DEBUG")) {
          console.error(cmd, args[0], "attached", performance.now() - t0);
        }
        attached();
      }
    }
    attached(); // ended without attaching: the caller sees the error output
  })();
  return proc;
}

/**
 * Run programs under bpftrace and bpfsh at once around one workload.
 *
 * @param programs The programs.
 * @param workload Runs once every process has attached.
 * @param timeoutMs How long attaching may take.
 * @param withBpftrace False to run bpfsh alone (its `bpftrace` outputs are then empty).
 * @param backends bpfsh's back ends to run each program with (`BPFSH_PROBE_BACKEND`).
 * @returns What each printed.
 */
export async function runOracle(
  programs: OracleProgram[],
  workload: () => Promise<void>,
  timeoutMs = 30_000,
  withBpftrace = true,
  backends: string[] = ["auto"],
): Promise<OracleRun[]> {
  interface Shell {
    backend: string;
    sh: Proc;
    shj?: Proc;
  }
  const procs: { p: OracleProgram; bt?: Proc; btj?: Proc; shells: Shell[] }[] = [];
  for (const p of programs) {
    const args = ["-e", p.text, ...(p.args ?? [])];
    procs.push({
      p,
      bt: withBpftrace ? spawn("bpftrace", args) : undefined,
      btj: p.json && withBpftrace ? spawn("bpftrace", ["-f", "json", ...args]) : undefined,
      shells: backends.map((backend) => ({
        backend,
        sh: spawn(`${ROOT}/bpfsh`, args, backend),
        shj: p.json ? spawn(`${ROOT}/bpfsh`, ["--json", ...args], backend) : undefined,
      })),
    });
  }
  const procsOf = (x: (typeof procs)[number]) =>
    [x.bt, x.btj, ...x.shells.flatMap((s) => [s.sh, s.shj])].filter((y): y is Proc => !!y);
  const all = procs.flatMap(procsOf);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.all(all.map((x) => x.attached)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("probes did not attach in time")), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    await workload();
    // Let the last events reach the rings before the maps are printed.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    clearTimeout(timer);
    for (const x of procs) {
      for (const proc of procsOf(x)) {
        if (!x.p.selfExit) {
          try {
            proc.child.kill("SIGINT");
          } catch {
            // Already ended.
          }
        }
      }
    }
  }
  const runs: OracleRun[] = [];
  for (const x of procs) {
    const out = async (proc?: Proc) => {
      if (!proc) return undefined;
      const killer = setTimeout(() => {
        try {
          proc.child.kill("SIGKILL");
        } catch {
          // Already ended.
        }
      }, 15_000);
      await proc.child.status;
      clearTimeout(killer);
      await proc.done;
      return await proc.stdout;
    };
    const [bpftrace, bpftraceJson, ...shells] = await Promise.all([
      out(x.bt),
      out(x.btj),
      ...x.shells.flatMap((s) => [out(s.sh), out(s.shj)]),
    ]);
    const errors = procsOf(x).map((y) =>
      y.stderr.replace(/.*RLIMIT_MEMLOCK.*\n/, "").replace(
        /__BPFTRACE_NOTIFY_PROBES_ATTACHED\n/,
        "",
      )
    ).join("");
    const byBackend = x.shells.map((s, i) => ({
      backend: s.backend,
      text: shells[2 * i]!,
      json: shells[2 * i + 1],
    }));
    runs.push({
      program: x.p,
      bpftrace: bpftrace ?? "",
      bpfsh: byBackend[0].text,
      bpftraceJson,
      bpfshJson: byBackend[0].json,
      backends: byBackend,
      errors,
    });
  }
  return runs;
}

/** A map as parsed from bpftrace's text output: key text → value text (hist: its lines). */
export type ParsedMaps = Map<string, Map<string, string>>;

/**
 * Parse the maps bpftrace prints in text mode (`@name[key]: value`, hist/lhist blocks).
 *
 * @param text The output.
 * @returns Maps by name; each entry's key as printed (`""` for a map without keys).
 */
export function parseMaps(text: string): ParsedMaps {
  const maps: ParsedMaps = new Map();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^(@\w*)(?:\[(.*)\])?: (.*)$/.exec(lines[i]);
    if (!m) continue;
    const [, name, key = "", value] = m;
    if (!maps.has(name)) maps.set(name, new Map());
    let v = value;
    if (value === "" && /^[[(]/.test(lines[i + 1] ?? "")) {
      const body: string[] = [];
      while (i + 1 < lines.length && /^[[(]/.test(lines[i + 1])) body.push(lines[++i]);
      v = body.join("\n");
    }
    maps.get(name)!.set(key, v);
  }
  return maps;
}

/**
 * The printf lines of an output: everything between the "Attaching" line and the blank
 * lines before the maps.
 *
 * @param text The output.
 * @returns The lines.
 */
export function printfLines(text: string): string[] {
  const body = text.replace(/^Attaching \d+ probes?\.\.\.\n/, "");
  const end = body.indexOf("\n\n\n");
  return (end >= 0 ? body.slice(0, end + 1) : body).split("\n").filter((l) => l !== "");
}

/**
 * JSON output lines parsed (blank lines skipped); map objects keep their keys as data.
 *
 * @param text The output.
 * @returns The objects.
 */
export function jsonLines(text: string): { type: string; data: unknown }[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}
