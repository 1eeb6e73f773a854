/**
 * Helpers of the attach-kind tests: what the kernel has (from its own symbol table and
 * from the doctor's probes), and the kernel objects an attachment leaves (tc filters,
 * qdiscs, cgroup attachments, legacy probe events) as the system tools list them.
 *
 * @module
 */

import { BpfObject, feature, features } from "../mod.ts";
import { assert } from "./assert.ts";
import { fixture } from "./helpers.ts";
import { usesLegacyEvents } from "../bpf/link/probe_events.ts";
import { ensureTracefs } from "../bpf/system/mounts.ts";

/**
 * Open and load a fixture built on tests/fixtures/hits.bpf.h, counting this process's hits.
 *
 * @param name The fixture, e.g. `"hooks"`.
 * @returns The loaded object, and the count of a slot of its `hits` map.
 */
export async function hitsFixture(
  name: string,
): Promise<{ obj: BpfObject; hit: (slot: number) => bigint }> {
  const obj = await BpfObject.open(fixture(name));
  obj.globals.target_tgid = Deno.pid;
  obj.load();
  const hits = obj.map<number, bigint>("hits");
  return { obj, hit: (slot: number) => hits.get(slot) ?? 0n };
}

let kallsyms: Set<string> | undefined;

/**
 * Whether the running kernel has a function, from /proc/kallsyms (a config option's
 * functions exist exactly when it is built in: register_kprobe for CONFIG_KPROBES,
 * register_fprobe for CONFIG_FPROBE).
 *
 * @param name The kernel function.
 * @returns True when /proc/kallsyms lists it.
 */
export function kernelHasFunction(name: string): boolean {
  if (!kallsyms) {
    kallsyms = new Set();
    const text = Deno.readTextFileSync("/proc/kallsyms");
    // "ffffffff81234560 T do_unlinkat" (a module's symbols end "\t[module]").
    for (const line of text.split("\n")) {
      const name = line.split(" ")[2]?.split("\t")[0];
      if (name) kallsyms.add(name);
    }
  }
  return kallsyms.has(name);
}

/**
 * What the doctor probed for a feature (it loads and attaches a program of that kind).
 *
 * @param name The feature, e.g. `"kprobe"`, `"fentry"`.
 * @returns Whether it works here.
 */
export async function doctorSays(name: string): Promise<boolean> {
  const f = feature(await features(), name);
  assert(f, `the doctor probes '${name}'`);
  return f.ok;
}

/** Run a tool and parse its JSON output ([] when it prints nothing). */
function json<T>(cmd: string, args: string[]): T[] {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text ? JSON.parse(text) as T[] : [];
}

/**
 * The BPF filters tc lists on one direction of an interface.
 *
 * @param iface The interface.
 * @param dir `"ingress"` or `"egress"`.
 * @returns The filters' program names (bpf filters only).
 */
export function tcBpfFilters(iface: string, dir: "ingress" | "egress"): string[] {
  return tcFilters(iface, dir).filter((f) => f.kind === "bpf").map((f) =>
    f.options?.bpf_name ?? "?"
  );
}

/** The filters `tc -j filter show` lists on one direction of an interface. */
function tcFilters(
  iface: string,
  dir: "ingress" | "egress",
): { kind?: string; options?: { bpf_name?: string; prog?: { id?: number } } }[] {
  return json("tc", ["-j", "filter", "show", "dev", iface, dir]);
}

/**
 * Whether an interface has a clsact qdisc.
 *
 * @param iface The interface.
 * @returns True when `tc qdisc show` lists clsact.
 */
export function hasClsact(iface: string): boolean {
  return json<{ kind: string }>("tc", ["-j", "qdisc", "show", "dev", iface])
    .some((q) => q.kind === "clsact");
}

/**
 * The programs attached to a cgroup (`bpftool cgroup show`).
 *
 * @param path The cgroup directory.
 * @returns The attached programs' names.
 */
export function cgroupPrograms(path: string): string[] {
  return json<{ name: string }>("bpftool", ["-j", "cgroup", "show", path]).map((p) => p.name);
}

/**
 * Legacy probe events (kprobe_events, uprobe_events) libbpf made for a process.
 *
 * @param pid The process.
 * @returns The event names.
 */
export function probeEventsOf(pid: number): string[] {
  const out: string[] = [];
  // A process in a mount namespace of its own may have mounted tracefs only there (a fresh
  // machine has none): the events are the kernel's, whichever mount lists them.
  const tracefs = ensureTracefs();
  for (const file of ["kprobe_events", "uprobe_events"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(`${tracefs}/${file}`);
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^\S+\/(libbpf_(\d+)_\S*)/gm)) {
      if (Number(m[2]) === pid) out.push(m[1]);
    }
  }
  return out;
}

/**
 * The BPF links of the kernel of one type (`bpftool link list`).
 *
 * @param type E.g. `"netns"`, `"cgroup"`, `"iter"`.
 * @returns The links' program ids.
 */
export function kernelLinks(type: string): number[] {
  return json<{ type: string; prog_id: number }>("bpftool", ["-j", "link", "list"])
    .filter((l) => l.type === type).map((l) => l.prog_id);
}

/**
 * The cgroup v2 root of this machine.
 *
 * @returns Its mount point.
 */
export function cgroup2Root(): string {
  for (const line of Deno.readTextFileSync("/proc/self/mounts").split("\n")) {
    const [, dir, type] = line.split(" ");
    if (type === "cgroup2") return dir;
  }
  throw new Error("no cgroup2 mounted");
}

/**
 * Run with a fresh cgroup v2 directory, removed afterwards.
 *
 * @param fn Given the directory.
 * @returns What fn returns.
 */
export async function withCgroup<T>(fn: (path: string) => Promise<T> | T): Promise<T> {
  const path = `${cgroup2Root()}/bpfsh-test-${Deno.pid}-${Math.random().toString(36).slice(2, 8)}`;
  Deno.mkdirSync(path);
  try {
    return await fn(path);
  } finally {
    for (let i = 0; i < 50; i++) {
      try {
        Deno.removeSync(path);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Move this process into a cgroup for the duration of fn (sockets made meanwhile belong to
 * it), then back to where it was.
 *
 * @param path The cgroup.
 * @param fn What to do inside.
 * @returns What fn returns.
 */
export async function insideCgroup<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const root = cgroup2Root();
  const mine = /^0::(.*)$/m.exec(Deno.readTextFileSync("/proc/self/cgroup"))?.[1] ?? "/";
  Deno.writeTextFileSync(`${path}/cgroup.procs`, `${Deno.pid}\n`);
  try {
    return await fn();
  } finally {
    Deno.writeTextFileSync(`${root}${mine === "/" ? "" : mine}/cgroup.procs`, `${Deno.pid}\n`);
  }
}

/**
 * One TCP exchange over loopback: listen, connect (both here), send and receive 16 bytes.
 *
 * @param connect Runs the connect, e.g. inside a cgroup.
 */
export async function tcpExchange(
  connect: (port: number) => Promise<Deno.TcpConn> = (port) =>
    Deno.connect({ hostname: "127.0.0.1", port }),
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const conn = await connect(listener.addr.port);
    const peer = await listener.accept();
    await conn.write(new Uint8Array(16));
    await peer.read(new Uint8Array(16));
    await peer.write(new Uint8Array(16));
    await conn.read(new Uint8Array(16));
    conn.close();
    peer.close();
  } finally {
    listener.close();
  }
}

/**
 * Wait until a condition holds (the kernel frees links and programs after RCU).
 *
 * @param what Said when it never holds.
 * @param check The condition.
 * @param ms How long to wait.
 */
export async function eventually(what: string, check: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Create and unlink files: each unlink calls the kernel's do_unlinkat once.
 *
 * @param n How many.
 */
export function unlinkSome(n: number): void {
  const dir = Deno.makeTempDirSync({ prefix: "bpfsh-unlink-" });
  for (let i = 0; i < n; i++) {
    Deno.writeTextFileSync(`${dir}/f${i}`, "x");
    Deno.removeSync(`${dir}/f${i}`);
  }
  Deno.removeSync(dir);
}

/**
 * The programs tc runs on one direction of an interface, by kernel id: netlink filters
 * (`tc filter show`) and tcx links (`bpftool link`; bpftool 7.1 names their type 11 and
 * shows no interface, so every tcx link counts).
 *
 * @param iface The interface.
 * @param dir `"ingress"` or `"egress"`.
 * @returns `filters` and `tcx`: the program ids of each.
 */
export function tcProgramIds(
  iface: string,
  dir: "ingress" | "egress",
): { filters: number[]; tcx: number[] } {
  const filters = tcFilters(iface, dir).flatMap((f) =>
    f.kind === "bpf" && f.options?.prog?.id ? [f.options.prog.id] : []
  );
  const tcx = json<{ type: string | number; prog_id: number }>("bpftool", ["-j", "link", "list"])
    .filter((l) => l.type === "tcx" || l.type === 11).map((l) => l.prog_id);
  return { filters, tcx };
}

/**
 * The id of the XDP program an interface runs (`ip link show`), if any.
 *
 * @param iface The interface.
 * @returns The program id, or undefined.
 */
export function xdpProgramId(iface: string): number | undefined {
  const [link] = json<
    { xdp?: { prog?: { id?: number }; attached?: { prog?: { id?: number } }[] } }
  >(
    "ip",
    ["-j", "-d", "link", "show", "dev", iface],
  );
  return link?.xdp?.prog?.id ?? link?.xdp?.attached?.[0]?.prog?.id;
}

/**
 * Wait for a process to be gone (a reaper exits once it undid what was left).
 *
 * @param pid The process.
 * @param ms How long to wait.
 */
export async function processGone(pid: number, ms = 5000): Promise<void> {
  await eventually(`process ${pid} ended`, () => {
    try {
      // A zombie (no parent reaped it yet) has ended too.
      return /^\S+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
    } catch {
      return true;
    }
  }, ms);
}

/**
 * The reaper of a process, found by its command line (`reaper_main.ts FD PID`).
 *
 * @param pid The process the reaper watches.
 * @returns The reaper's pid, if one runs.
 */
export function reaperOf(pid: number): number | undefined {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (argv.some((a) => a.endsWith("/reaper_main.ts")) && argv.at(-2) === String(pid)) {
        return Number(e.name);
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

/**
 * Whether uprobes here go through legacy tracefs events (`uprobe_events`), or can be made to
 * for one process by hiding the uprobe PMU ({@link withUprobePmuHidden}).
 *
 * @returns True when a test can hold a legacy uprobe event.
 */
export function legacyUprobesPossible(): boolean {
  if (usesLegacyEvents("uprobe")) return true;
  if (Deno.uid() !== 0) return false;
  return new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/sys/devices/uprobe"],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

/**
 * A command line run with the uprobe PMU hidden (a private mount namespace with a tmpfs over
 * /sys/devices/uprobe), so that libbpf writes `uprobe_events`, as on kernels without the PMU.
 * Where the kernel has no PMU already, the command line as it is. `sh` execs the command, so
 * the pid is the command's own.
 *
 * @param argv The command and its arguments.
 * @returns The command line to spawn.
 */
export function withUprobePmuHidden(argv: readonly string[]): string[] {
  if (usesLegacyEvents("uprobe")) return [...argv];
  return [
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount -t tmpfs none /sys/devices/uprobe && exec "$@"',
    "sh",
    ...argv,
  ];
}
