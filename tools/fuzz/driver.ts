/**
 * The fuzz driver: runs the fuzz child ({@link ./target.ts}) over a range of inputs, and
 * when the child dies (a signal) or stops answering (a hang), records the input it was on
 * and starts a new child after it. So a crash is counted, never fatal.
 *
 * @module
 */

import { loadSeeds, makeInput } from "./mutate.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  /** The run's seed: the same seed makes the same inputs. */
  seed: number;
  /** How many inputs. */
  count: number;
  /** The first input's index (default 0). */
  from?: number;
  /** Also load what opens (needs root). */
  load?: boolean;
  /** An input that makes no progress for this long is a hang (default 20 s). */
  hangMs?: number;
  /** `nice` level of the child (default 10). */
  nice?: number;
  /** Write crashing and hanging inputs here. */
  saveDir?: string;
  /** Called with a progress line now and then. */
  progress?: (line: string) => void;
}

/** A failure worth a look: which input and what happened. */
export interface FuzzFinding {
  index: number;
  strategy: string;
  seed: string;
  what: string;
}

/** The outcome of {@link fuzz}. */
export interface FuzzReport {
  inputs: number;
  /** Counts per outcome: loaded, opened, refused, raw, crash, hang. */
  outcomes: Record<string, number>;
  crashes: FuzzFinding[];
  hangs: FuzzFinding[];
  /** Failures that were not a BpfError. */
  raw: FuzzFinding[];
  /** Seconds of wall time. */
  seconds: number;
}

/**
 * Fuzz `count` inputs, restarting the child after every crash or hang.
 *
 * @param opts Seed, count, load, limits.
 * @returns Counts and findings.
 */
export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const start = performance.now();
  const from = opts.from ?? 0;
  const end = from + opts.count;
  const report: FuzzReport = {
    inputs: 0,
    outcomes: { loaded: 0, opened: 0, refused: 0, raw: 0, crash: 0, hang: 0 },
    crashes: [],
    hangs: [],
    raw: [],
    seconds: 0,
  };
  let next = from;
  while (next < end) {
    const args = [
      "-n",
      String(opts.nice ?? 10),
      Deno.execPath(),
      "run",
      "-A",
      "--no-check",
      "--quiet",
      `${ROOT}/tools/fuzz/target.ts`,
      String(opts.seed),
      String(next),
      String(end - next),
      ...(opts.load ? ["--load"] : []),
    ];
    const child = new Deno.Command("nice", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let current: FuzzFinding | undefined;
    let hung = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }, opts.hangMs ?? 20_000);
    };
    arm();
    let buffered = "";
    const dec = new TextDecoder();
    for await (const chunk of child.stdout) {
      buffered += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [tag, index, a, ...rest] = line.split(" ");
        if (tag === "B") {
          arm();
          current = { index: Number(index), strategy: a, seed: rest[0], what: "" };
        } else if (tag === "E" && current) {
          report.inputs++;
          report.outcomes[a] = (report.outcomes[a] ?? 0) + 1;
          if (a === "raw") report.raw.push({ ...current, what: rest.join(" ") });
          next = current.index + 1;
          current = undefined;
          if (report.inputs % 1000 === 0) {
            opts.progress?.(`${report.inputs} inputs, ${JSON.stringify(report.outcomes)}`);
          }
        }
      }
    }
    const status = await child.status;
    clearTimeout(timer);
    if (current) {
      // The child died or hung inside this input.
      report.inputs++;
      const kind = hung ? "hang" : "crash";
      report.outcomes[kind]++;
      const finding = { ...current, what: hung ? "no progress" : `signal ${status.signal}` };
      (hung ? report.hangs : report.crashes).push(finding);
      opts.progress?.(`${kind}: input ${current.index} (${current.strategy}, ${current.seed})`);
      if (opts.saveDir) await save(opts, finding, kind);
      next = current.index + 1;
    } else if (!status.success && next < end) {
      throw new Error(`fuzz child failed outside an input (code ${status.code})`);
    }
  }
  report.seconds = (performance.now() - start) / 1000;
  return report;
}

/** Write a finding's input bytes, named by index, strategy and seed. */
async function save(opts: FuzzOptions, f: FuzzFinding, kind: string): Promise<void> {
  const input = makeInput(loadSeeds(ROOT), opts.seed, f.index);
  await Deno.mkdir(opts.saveDir!, { recursive: true });
  const name = `${String(f.index).padStart(5, "0")}_${f.strategy}_${f.seed}.${kind}.o`;
  await Deno.writeFile(`${opts.saveDir}/${name}`, input.bytes);
}
