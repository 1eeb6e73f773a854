// Nothing leaks, whatever ends the process: the shell (`bpfsh`, commands on stdin) and a
// script (`bpfsh run`) each make a netlink tc filter under a clsact qdisc they create, a tcx
// link (where the kernel has them), an XDP link, a tracepoint link, a uprobe through a legacy
// tracefs event (the uprobe PMU hidden by a mount namespace, as on kernels without it) and
// maps, then end by a normal exit, an uncaught error, SIGINT, SIGTERM, SIGHUP, SIGKILL or a
// closed stdout; a one-liner (`bpfsh -e`: tracepoints, a legacy uprobe, an interval, printf)
// ends the same ways but the error (it runs no JavaScript of its own). After each: none of
// the process's programs, maps or links is left in the kernel (after RCU), nothing of it on
// lo (tc filters, tcx, XDP), the clsact qdisc as it was, no probe event under its pid, no new
// pin in bpffs, its reaper has exited (so no child of the process holds the reaper's pipe),
// and a child it started, still running, holds no BPF fd.
// Host only: the guest runs the kill paths through link_reaper_test.ts.
import { tcxAvailable } from "../bpf/link/tcx.ts";
import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import {
  eventually,
  hasClsact,
  legacyUprobesPossible,
  probeEventsOf,
  processGone,
  reaperOf,
  tcProgramIds,
  withUprobePmuHidden,
  xdpProgramId,
} from "./link_helpers.ts";

type Host = "shell" | "script" | "one-liner";
type Ending = "exit" | "throw" | "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGKILL" | "EPIPE";
const ENDINGS: Ending[] = ["exit", "throw", "SIGINT", "SIGTERM", "SIGHUP", "SIGKILL", "EPIPE"];

/** The exit status each ending gives (SIGKILL: killed by the signal, no status). */
const STATUS: Record<Exclude<Ending, "SIGKILL">, number> = {
  exit: 0,
  throw: 1,
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
  EPIPE: 141,
};
/** A one-liner ends as bpftrace does: a signal or a closed output stops it, maps printed, 0. */
const ONE_LINER_STATUS: Record<Exclude<Ending, "SIGKILL" | "throw">, number> = {
  exit: 0,
  SIGINT: 0,
  SIGTERM: 0,
  SIGHUP: 0,
  EPIPE: 0,
};

/** A process of this name ends the one-liner (its `exit()`). */
const EXIT_COMM = "bpfsh_leak_exit";
/**
 * The one-liner: tracepoint and uprobe links, per-CPU maps, an interval's perf events, printf
 * through a buffer; a uprobe of libc (a legacy event with the PMU hidden).
 */
const ONE_LINER = [
  "tracepoint:syscalls:sys_enter_close { @closes[comm] = count(); }",
  "uprobe:/lib/x86_64-linux-gnu/libc.so.6:getpid { @getpid = count(); }",
  `tracepoint:syscalls:sys_enter_exit_group /comm == "${EXIT_COMM}"/ { exit(); }`,
  'interval:ms:50 { printf("tick\\n"); }',
].join(" ");

/** How the script (tests/fixtures/hold_everything.ts) goes on after "ready". */
const SCRIPT_MODE: Record<Ending, string> = {
  exit: "exit",
  throw: "throw",
  SIGINT: "wait",
  SIGTERM: "wait",
  SIGHUP: "wait",
  SIGKILL: "wait",
  EPIPE: "print",
};

const built = `${ROOT}/build/tests`;
/** What the shell is told before "ready": the same things the script makes. */
const SHELL_LINES = [
  `load ${built}/tc_hold.bpf.o --no-attach`,
  "prog attach tc_pass lo:ingress",
  'Deno.env.delete("BPFSH_TC")',
  "prog attach tc_pass lo:egress",
  `load ${built}/hooks.bpf.o --no-attach`,
  "prog attach on_xdp lo",
  "prog attach on_close_tp",
  `load ${built}/uprobes.bpf.o --no-attach`,
  "prog attach on_call libc.so.6:getpid",
  `load ${built}/events.bpf.o --no-attach`,
  'const child = new Deno.Command("sleep", { args: ["30"], stdin: "null", stdout: "null", stderr: "null" }).spawn()',
  "child.unref()",
  "console.log(`ready ${child.pid}`)",
];

interface KernelIds {
  prog: number[];
  map: number[];
  link: number[];
}

/** The BPF programs, maps and links a process holds, from its fds. */
function idsOf(pid: number): KernelIds {
  const ids: KernelIds = { prog: [], map: [], link: [] };
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
      const kind = /^anon_inode:bpf[-_](prog|map|link)/.exec(target)?.[1] as keyof KernelIds;
      if (!kind) continue;
      const info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${e.name}`);
      const id = Number(new RegExp(`${kind}_id:\\s*(\\d+)`).exec(info)?.[1]);
      if (id) ids[kind].push(id);
    } catch {
      // Closed meanwhile.
    }
  }
  return ids;
}

/** Every program, map and link id in the kernel (bpftool). */
function kernelIds(): KernelIds {
  const list = (what: string) => {
    const out = new Deno.Command("bpftool", { args: ["-j", what, "list"] }).outputSync();
    const l = JSON.parse(new TextDecoder().decode(out.stdout) || "[]") as { id: number }[];
    return l.map((x) => x.id);
  };
  return { prog: list("prog"), map: list("map"), link: list("link") };
}

/** Every path under bpffs (pins). */
function pins(dir = "/sys/fs/bpf"): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      out.push(`${dir}/${e.name}`);
      if (e.isDirectory) out.push(...pins(`${dir}/${e.name}`));
    }
  } catch {
    // Not mounted, or gone meanwhile.
  }
  return out.sort();
}

/** Start one host, wait for "ready", end it as asked; check that nothing of it is left. */
async function endAndCheck(host: Host, ending: Ending, legacy: boolean): Promise<void> {
  const what = `${host}, ${ending}`;
  const clsactBefore = hasClsact("lo");
  const pinsBefore = pins();
  const argv = host === "script"
    ? [`${ROOT}/bpfsh`, "run", `${ROOT}/tests/fixtures/hold_everything.ts`, SCRIPT_MODE[ending]]
    : host === "shell"
    ? [`${ROOT}/bpfsh`]
    : [`${ROOT}/bpfsh`, "-e", ONE_LINER];
  const [cmd, ...args] = legacy ? withUprobePmuHidden(argv) : argv;
  const child = new Deno.Command(cmd, {
    args,
    env: { BPFSH_TC: "netlink", NO_COLOR: "1", BPFSH_HISTORY: "" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const errText = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  /** A child it started, which outlives it: it must hold none of bpfsh's fds. */
  let sleeper = 0;
  try {
    if (host === "shell") {
      await stdin.write(new TextEncoder().encode(SHELL_LINES.join("\n") + "\n"));
    }
    let text = "";
    // "Attaching N probes..." comes before the attach, as bpftrace's; the first tick after
    // (the interval is attached last).
    const ready = host === "one-liner" ? /^tick$/m : /^ready \d+$/m;
    while (!ready.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    if (!ready.test(text)) throw new Error(`${what}: not ready: ${text} ${await errText}`);
    sleeper = Number(/^ready (\d+)$/m.exec(text)?.[1] ?? 0);
    // What it holds now, as the kernel and the system's tools list it.
    const held = idsOf(child.pid);
    assert(held.prog.length >= 4 && held.map.length >= 3, `${what}: ${JSON.stringify(held)}`);
    if (host !== "one-liner") {
      const ingress = tcProgramIds("lo", "ingress");
      assert(ingress.filters.some((id) => held.prog.includes(id)), `${what}: a netlink filter`);
      if (tcxAvailable()) {
        assert(tcProgramIds("lo", "egress").tcx.some((id) => held.prog.includes(id)), what);
      }
      assert(held.prog.includes(xdpProgramId("lo") ?? 0), `${what}: XDP on lo`);
    }
    if (legacy) assertEquals(probeEventsOf(child.pid).length, 1, `${what}: a legacy uprobe event`);
    // A reaper runs for netlink filters and legacy events (the one-liner has only the latter).
    const reaper = reaperOf(child.pid);
    assertEquals(!!reaper, host !== "one-liner" || legacy, `${what}: a reaper`);

    switch (ending) {
      case "exit":
        // The shell: end of its input. The script: its top level returned. The one-liner:
        // its exit(), when a process of that name ends.
        await stdin.close();
        if (host === "one-liner") await exitNamed(EXIT_COMM);
        break;
      case "throw":
        if (host === "shell") {
          await stdin.write(
            new TextEncoder().encode('setTimeout(() => { throw new Error("boom"); }, 0)\n'),
          );
        }
        break;
      case "EPIPE":
        // Nobody reads its output any more; the shell is then asked for some.
        await reader.cancel();
        if (host === "shell") await stdin.write(new TextEncoder().encode("prog list\n"));
        break;
      default:
        child.kill(ending);
    }
    // Bounded: a process that does not end is a failure of its own.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      child.status,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: still running after 15 s`)), 15_000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (ending === "SIGKILL") assertEquals(status.signal, "SIGKILL", what);
    else {
      const expected = host === "one-liner"
        ? ONE_LINER_STATUS[ending as keyof typeof ONE_LINER_STATUS]
        : STATUS[ending];
      assertEquals(status.code, expected, `${what}: ${await errText}`);
    }
    if (reaper) await processGone(reaper);

    // After: nothing of it is left.
    await eventually(`${what}: programs, maps, links freed (after RCU)`, () => {
      const live = kernelIds();
      return (["prog", "map", "link"] as const).every((k) =>
        held[k].every((id) => !live[k].includes(id))
      );
    }, 5000);
    for (const dir of ["ingress", "egress"] as const) {
      const on = tcProgramIds("lo", dir);
      const left = [...on.filters, ...on.tcx].filter((id) => held.prog.includes(id));
      assertEquals(left, [], `${what}: ${dir} tc left`);
    }
    assert(!held.prog.includes(xdpProgramId("lo") ?? 0), `${what}: XDP left on lo`);
    assertEquals(hasClsact("lo"), clsactBefore, `${what}: the clsact qdisc as it was`);
    assertEquals(probeEventsOf(child.pid), [], `${what}: legacy probe events left`);
    assertEquals(pins(), pinsBefore, `${what}: pins`);
    if (sleeper) {
      assertEquals(idsOf(sleeper), { prog: [], map: [], link: [] }, `${what}: its child's fds`);
    }
  } finally {
    try {
      if (sleeper) Deno.kill(sleeper, "SIGKILL");
    } catch {
      // Gone already.
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await reader.cancel().catch(() => {});
    await stdin.close().catch(() => {});
    await errText.catch(() => {});
  }
}

/** Run a process under a given name (its comm) until it ends. */
async function exitNamed(comm: string): Promise<void> {
  const path = `${Deno.makeTempDirSync()}/${comm}`;
  Deno.copyFileSync("/bin/true", path);
  Deno.chmodSync(path, 0o755);
  try {
    await new Deno.Command(path).output();
  } finally {
    Deno.removeSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
}

const LEGACY = !NOT_ROOT && legacyUprobesPossible();

for (const host of ["script", "shell"] as const) {
  Deno.test({
    name: `${host}: exit, an uncaught error, SIGINT, SIGTERM, SIGHUP, SIGKILL, EPIPE leave nothing`,
    ignore: NOT_ROOT,
    async fn() {
      for (const ending of ENDINGS) await endAndCheck(host, ending, LEGACY);
    },
  });
}

Deno.test({
  // A one-liner runs no JavaScript of its own: nothing of its can throw.
  name: "bpfsh -e: exit(), SIGINT, SIGTERM, SIGHUP, SIGKILL, EPIPE leave nothing",
  ignore: NOT_ROOT,
  async fn() {
    for (const ending of ENDINGS.filter((e) => e !== "throw")) {
      await endAndCheck("one-liner", ending, LEGACY);
    }
  },
});
