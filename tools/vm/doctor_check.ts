/**
 * The guest lane's check of `bpfsh doctor --json` against the guest kernel's own build
 * configuration (`/boot/config-*` of its package): each program kind the config builds in
 * must be reported working, and each it leaves out reported missing with a reason. Prints
 * one line per verdict; exits 1 on a disagreement.
 *
 * ```sh
 * deno run --allow-read tools/vm/doctor_check.ts DOCTOR.json CONFIG
 * ```
 *
 * @module
 */

import type { FeatureReport } from "../../bpf/system/features.ts";

/** The config options a program kind needs, as `NAME` (=y) or `NAME~WORD` (a list has it). */
const NEEDS: Record<string, string[]> = {
  tracepoint: ["CONFIG_BPF_EVENTS"],
  raw_tp: ["CONFIG_BPF_EVENTS"],
  tp_btf: ["CONFIG_BPF_EVENTS", "CONFIG_DEBUG_INFO_BTF"],
  kprobe: ["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"],
  kretprobe: ["CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS"],
  "kprobe.multi": ["CONFIG_KPROBES", "CONFIG_FPROBE"],
  fentry: ["CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"],
  fexit: ["CONFIG_BPF_JIT", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"],
  lsm: ["CONFIG_BPF_LSM", "CONFIG_LSM~bpf"],
  uprobe: ["CONFIG_UPROBE_EVENTS"],
  perf_event: ["CONFIG_PERF_EVENTS"],
  xdp: ["CONFIG_BPF_SYSCALL"],
  tc: ["CONFIG_NET_CLS_ACT"],
  socket_filter: ["CONFIG_BPF_SYSCALL"],
};

/**
 * Whether a kernel config sets an option (`NAME`: `=y`; `NAME~WORD`: a quoted
 * comma-separated list holding WORD).
 *
 * @param config The config file's text.
 * @param need The option.
 * @returns True when it is set.
 * @example
 * ```ts
 * configHas('CONFIG_LSM="yama,bpf"\n', "CONFIG_LSM~bpf"); // true
 * ```
 */
export function configHas(config: string, need: string): boolean {
  const [name, word] = need.split("~");
  const value = new RegExp(`^${name}=(.*)$`, "m").exec(config)?.[1];
  if (value === undefined) return false;
  if (word === undefined) return value === "y";
  return value.replace(/^"|"$/g, "").split(",").includes(word);
}

/**
 * Compare a doctor report with a kernel config.
 *
 * @param report The guest's `bpfsh doctor --json`.
 * @param config The guest kernel's config.
 * @returns One line per program kind, and whether all agree.
 * @example
 * ```ts
 * const { ok, lines } = agree(report, config);
 * ```
 */
export function agree(report: FeatureReport, config: string): { ok: boolean; lines: string[] } {
  let ok = true;
  const lines: string[] = [];
  for (const [kind, needs] of Object.entries(NEEDS)) {
    const f = report.features.find((x) => x.kind === "program" && x.name === kind);
    const expected = needs.every((n) => configHas(config, n));
    const missing = needs.filter((n) => !configHas(config, n));
    if (!f) {
      ok = false;
      lines.push(`MISMATCH ${kind}: not in the doctor's report`);
    } else if (f.ok !== expected || (!f.ok && !f.reason)) {
      ok = false;
      lines.push(
        `MISMATCH ${kind}: doctor says ${f.ok ? "working" : `missing (${f.reason})`}, ` +
          `the config ${expected ? "builds it in" : `lacks ${missing.join(", ")}`}`,
      );
    } else {
      lines.push(
        `ok       ${kind}: ${f.ok ? "working" : `missing (${missing.join(", ")} unset)`}`,
      );
    }
  }
  return { ok, lines };
}

if (import.meta.main) {
  const [reportPath, configPath] = Deno.args;
  const report = JSON.parse(Deno.readTextFileSync(reportPath)) as FeatureReport;
  const { ok, lines } = agree(report, Deno.readTextFileSync(configPath));
  for (const line of lines) console.log(`doctor vs config: ${line}`);
  Deno.exit(ok ? 0 : 1);
}
