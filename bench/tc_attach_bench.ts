/**
 * What leaving nothing behind costs a tc attach (run as root from the repository root):
 *
 * - first attach in a fresh process, as a tcx link (the kernel's choice on 6.6+; the time
 *   includes the once-per-process tcx probe);
 * - first attach as a netlink filter (`BPFSH_TC=netlink`, as on kernels before 6.6): the
 *   time includes starting the reaper;
 * - baseline: the same netlink filter and qdisc made with the bare calls and no reaper
 *   (what bpfsh did before the reaper);
 * - the reaper's memory while it waits, and how long after a SIGKILL of its parent the
 *   netlink filter is gone.
 *
 * ```sh
 * ./node_modules/.bin/deno run -A bench/tc_attach_bench.ts [runs]
 * ```
 *
 * @module
 */

import { OutputText } from "../tests/output_text.ts";
import { median, ROOT } from "./stats.ts";

const RUNS = Number(Deno.args[0] ?? 9);

type Mode = "tcx" | "netlink" | "bare";

/** The child: load, time the first attach, print the figures, wait to be killed. */
async function child(mode: Mode): Promise<void> {
  const { BpfObject } = await import(`${ROOT}/mod.ts`);
  const { reaperPid } = await import(`${ROOT}/bpf/link/reaper.ts`);
  const nl = await import(`${ROOT}/bpf/link/tc_netlink.ts`);
  const { kernelId } = await import(`${ROOT}/bpf/system/files.ts`);
  const obj = await BpfObject.open(`${ROOT}/build/tests/tc_hold.bpf.o`);
  obj.load();
  const prog = obj.program("tc_pass");
  const t0 = performance.now();
  if (mode === "bare") {
    nl.createClsact(1);
    const f = {
      ifindex: 1,
      direction: "ingress",
      handle: nl.TC_HANDLE,
      priority: nl.tcPriorities()[0],
      progId: kernelId(prog.fd, "prog_id"),
    };
    if (nl.addTcFilter(f, prog.fd) !== 0) throw new Error("bare attach failed");
  } else {
    prog.attach("lo:ingress");
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, reaper: reaperPid() ?? null }));
  setInterval(() => {}, 1000);
}

function filterOnLo(): boolean {
  const out = new Deno.Command("tc", { args: ["filter", "show", "dev", "lo", "ingress"] })
    .outputSync();
  return new TextDecoder().decode(out.stdout).includes("tc_pass");
}

/** Resident memory in KiB: all of it, and the process's own (anonymous) part. */
function rssKiB(pid: number): { all: number; anon: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { all: get("VmRSS"), anon: get("RssAnon") };
}

async function once(
  mode: Mode,
): Promise<{ ms: number; rss?: { all: number; anon: number }; cleanupMs?: number }> {
  const env: Record<string, string> = { BENCH_CHILD: mode };
  if (mode !== "tcx") env.BPFSH_TC = "netlink";
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", import.meta.url],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = new OutputText(proc.stdout);
  await out.until("\n");
  const r = JSON.parse(out.text) as { ms: number; reaper: number | null };
  // Let the reaper finish starting before its memory is read.
  await new Promise((res) => setTimeout(res, 300));
  const rss = r.reaper ? rssKiB(r.reaper) : undefined;
  const t0 = performance.now();
  proc.kill("SIGKILL");
  await proc.status;
  let cleanupMs: number | undefined;
  if (mode === "netlink") {
    while (filterOnLo()) await new Promise((res) => setTimeout(res, 2));
    cleanupMs = performance.now() - t0;
  }
  await out.close();
  if (mode === "bare") {
    // What bpfsh used to leave after a SIGKILL: remove it by hand.
    new Deno.Command("tc", { args: ["qdisc", "del", "dev", "lo", "clsact"] }).outputSync();
  }
  return { ms: r.ms, rss, cleanupMs };
}

async function main(): Promise<void> {
  if (filterOnLo()) throw new Error("a tc_pass filter is already on lo");
  const res: Record<Mode, Awaited<ReturnType<typeof once>>[]> = { tcx: [], netlink: [], bare: [] };
  await once("netlink"); // warm-up: Deno's module cache for the reaper
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so the machine's noise falls on every mode alike.
    for (const mode of ["bare", "netlink", "tcx"] as Mode[]) res[mode].push(await once(mode));
  }
  const ms = (m: Mode) => median(res[m].map((r) => r.ms));
  const base = ms("bare");
  const line = (name: string, m: Mode) =>
    console.log(
      `${name.padEnd(44)} median ${ms(m).toFixed(2).padStart(6)} ms  (${
        (ms(m) / base).toFixed(1)
      }x the bare netlink calls, ${RUNS} runs)`,
    );
  console.log(
    `${"first tc attach, bare netlink calls (baseline)".padEnd(44)} median ${
      base.toFixed(2).padStart(6)
    } ms`,
  );
  line("first tc attach, netlink + starting the reaper", "netlink");
  line("first tc attach, tcx link (probe included)", "tcx");
  const mib = (k: "all" | "anon") => (median(res.netlink.map((r) => r.rss![k])) / 1024).toFixed(1);
  const cleanup = median(res.netlink.map((r) => r.cleanupMs!));
  console.log(`reaper RSS while waiting: median ${mib("all")} MiB (${mib("anon")} MiB its own)`);
  console.log(`SIGKILL to filter gone (reaper): median ${cleanup.toFixed(0)} ms`);
}

const mode = Deno.env.get("BENCH_CHILD") as Mode | undefined;
if (mode) await child(mode);
else await main();
