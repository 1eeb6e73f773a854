/**
 * Shared test helpers: fixture paths, the root check, and the leak guard that proves a
 * test left no BPF program, map or link of its own behind.
 *
 * @module
 */

import { assert } from "./assert.ts";
import { targetArch } from "../bpf/build/compile.ts";
import { findTool } from "../bpf/build/toolchain.ts";
import { Output } from "../shell/output.ts";

export { OutputText } from "./output_text.ts";

/** Tests that load BPF need root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN); CI runs as root. */
export const NOT_ROOT = Deno.uid() !== 0;

/**
 * Whether clang is missing (as in the guest lane, and on production hosts): tests that
 * compile sources at run time skip then; everything else uses the prebuilt fixtures.
 */
export const NO_CLANG = await findTool("clang").then(() => false, () => true);

/**
 * Whether the running kernel is at least a version (from `uname -r`).
 *
 * @param major The major version.
 * @param minor The minor version.
 * @returns True for that version and later ones.
 */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [maj, min] = Deno.osRelease().split(/[.-]/).map(Number);
  return maj > major || (maj === major && min >= minor);
}

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The compiled object of a test fixture (built by the set-up from tests/fixtures/).
 *
 * @param name The fixture's base name, e.g. `"exec_count"`.
 * @returns `build/tests/<name>.bpf.o`.
 */
export function fixture(name: string): string {
  return `${ROOT}/build/tests/${name}.bpf.o`;
}

/**
 * The bytes of a compiled fixture; compiled on the spot when the set-up has not built it
 * (so the pure BTF tests need no set-up beyond clang).
 *
 * @param name The fixture's base name.
 * @returns The object file's bytes.
 */
export function fixtureBytes(name: string): Uint8Array {
  const path = fixture(name);
  try {
    return Deno.readFileSync(path);
  } catch {
    Deno.mkdirSync(`${ROOT}/build/tests`, { recursive: true });
    const out = new Deno.Command("clang", {
      args: [
        "-g",
        "-O2",
        "-target",
        "bpf",
        `-D__TARGET_ARCH_${targetArch()}`,
        `-I/usr/include/${Deno.build.arch}-linux-gnu`,
        "-c",
        `${ROOT}/tests/fixtures/${name}.bpf.c`,
        "-o",
        path,
      ],
    }).outputSync();
    assert(out.success, new TextDecoder().decode(out.stderr));
    return Deno.readFileSync(path);
  }
}

/** One BPF fd of this process. */
export interface BpfFd {
  fd: number;
  kind: "prog" | "map" | "link" | "other";
  id: number;
}

/**
 * The BPF objects this process holds open, from /proc/self/fd and fdinfo.
 *
 * @returns One entry per BPF fd.
 */
export function bpfFds(): BpfFd[] {
  const out: BpfFd[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    const fd = Number(e.name);
    let target = "";
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (!target.startsWith("anon_inode:bpf")) continue;
    let info = "";
    try {
      info = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    } catch {
      continue;
    }
    const kind = target.includes("prog") ? "prog" : target.includes("map") ? "map" : target
        .includes("link")
      ? "link"
      : "other";
    const id = Number(/(?:prog_id|map_id|link_id):\s*(\d+)/.exec(info)?.[1] ?? 0);
    out.push({ fd, kind, id });
  }
  return out;
}

/**
 * The ids of every BPF program loaded in the kernel (what `bpftool prog list` shows).
 *
 * @returns Program ids.
 */
export function kernelProgIds(): Set<number> {
  const out = new Deno.Command("bpftool", { args: ["prog", "list", "-j"] }).outputSync();
  const list = JSON.parse(new TextDecoder().decode(out.stdout) || "[]") as { id: number }[];
  return new Set(list.map((p) => p.id));
}

/**
 * Start watching for leaks: call `seen()` while the test's objects are loaded, and
 * `check()` after closing them. check() fails if a BPF fd of this process is still open
 * or if `bpftool prog list` still shows one of the programs seen.
 *
 * @returns The guard.
 */
export function leakGuard(): { seen(): void; check(): Promise<void> } {
  const before = new Set(bpfFds().map((f) => f.fd));
  const progIds = new Set<number>();
  return {
    seen() {
      for (const f of bpfFds()) if (f.kind === "prog" && !before.has(f.fd)) progIds.add(f.id);
    },
    async check() {
      const left = bpfFds().filter((f) => !before.has(f.fd));
      assert(left.length === 0, `BPF fds left open: ${JSON.stringify(left)}`);
      // The kernel frees programs after an RCU grace period: give it a moment.
      for (let i = 0; i < 40; i++) {
        const live = kernelProgIds();
        const ours = [...progIds].filter((id) => live.has(id));
        if (ours.length === 0) return;
        if (i === 39) throw new Error(`programs still loaded: ${ours.join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/**
 * Run a program and wait for it.
 *
 * @param cmd The executable.
 * @param args Its arguments.
 * @returns Its exit code.
 */
export function run(cmd: string, ...args: string[]): number {
  return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().code;
}

/**
 * This process's open fds and its mappings of BPF maps and perf events: the stream tests
 * compare them before and after, to show a reader leaves none behind.
 *
 * @returns The counts.
 */
export function streamResources(): { fds: number; maps: number } {
  const fds = [...Deno.readDirSync("/proc/self/fd")].length;
  const maps = Deno.readTextFileSync("/proc/self/maps").split("\n")
    .filter((l) => /bpf|perf_event/.test(l)).length;
  return { fds, maps };
}

/**
 * Close a reader while a `for await` loop waits on it (ring, perf buffer, trace pipe): the
 * stream tests show that close() ends the loop, and soon.
 *
 * @param source The reader.
 * @param waitMs How long the loop waits before the close.
 * @returns What the loop received, and the milliseconds from close() to the loop's end.
 */
export async function closeWhileWaiting(
  source: AsyncIterable<unknown> & { close(): unknown },
  waitMs: number,
): Promise<{ received: number; endedMs: number }> {
  let received = 0;
  const loop = (async () => {
    for await (const _ of source) received++;
  })();
  await new Promise((r) => setTimeout(r, waitMs));
  const t0 = performance.now();
  source.close();
  await loop;
  return { received, endedMs: performance.now() - t0 };
}

/**
 * A test that loads BPF: skipped (with the reason) when not root, and failed if it leaves
 * a BPF fd of this process open or a program it loaded still in the kernel.
 *
 * @param name What the test shows.
 * @param fn The test body.
 * @param skip Skip it also when true (e.g. the kernel lacks what it needs).
 */
export function bpfTest(name: string, fn: () => void | Promise<void>, skip = false): void {
  Deno.test({
    name,
    // Loading BPF needs CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN: root here, and in CI.
    ignore: NOT_ROOT || skip,
    async fn() {
      const guard = leakGuard();
      const sampler = setInterval(() => guard.seen(), 5);
      try {
        await fn();
      } finally {
        clearInterval(sampler);
      }
      await guard.check();
    },
  });
}

/**
 * A script of scripts/ as a subprocess: `deno run -A scripts/NAME.ts ARGS`, output piped,
 * no colour.
 *
 * @param name The script's name, e.g. `"profile"`.
 * @param args Its arguments.
 * @returns The command, to spawn or run.
 */
export function scriptCommand(name: string, args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", `${ROOT}/scripts/${name}.ts`, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Run a test body with a fresh temporary directory, removed afterwards.
 *
 * @param prefix The directory name's prefix, e.g. `"bpfsh-cache-"`.
 * @param fn The body, given the directory.
 */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A shell Output that collects what it prints, without colour.
 *
 * @param format The output format.
 * @returns The output, and the text written to it so far (`out`, and `err` for diagnostics).
 */
export function captureOutput(
  format: "table" | "json" | "yaml" = "table",
): { out: Output; text: { out: string; err: string } } {
  const text = { out: "", err: "" };
  const out = new Output({
    format,
    color: false,
    write: (t) => (text.out += t),
    writeErr: (t) => (text.err += t),
  });
  return { out, text };
}

/**
 * The modules a Deno process fetched, from its debug log (`-L debug`), in order: the
 * repository's relative to it, others as their paths or specifiers.
 *
 * @param log The process's stderr.
 * @returns The modules.
 */
export function modulesLoadedBy(log: string): string[] {
  return [...log.matchAll(/fetch_no_follow - specifier: file:\/\/(\S+)/g)]
    .map((m) => m[1].startsWith(`${ROOT}/`) ? m[1].slice(ROOT.length + 1) : m[1]);
}
