/**
 * The external tools bpfsh runs to build BPF objects (clang, bpftool): finding them on
 * `PATH`, naming their version without running them, and running them with their output
 * captured.
 *
 * @module
 */

import { BpfError } from "../../ffi/errors.ts";

/** What to tell a user whose machine lacks a tool. */
const INSTALL_HINTS: Record<string, string> = {
  clang: "install clang (apt-get install clang) or run the bpfsh set-up; " +
    "BPFSH_CLANG names a specific binary",
  bpftool: "install bpftool (apt-get install bpftool) or run the bpfsh set-up; " +
    "BPFSH_BPFTOOL names a specific binary",
  cc: "install a C compiler and libbpf (apt-get install gcc libbpf-dev libelf-dev zlib1g-dev)",
};

/** Names tried for clang, newest first after the plain name. */
const CLANG_NAMES = ["clang", ...Array.from({ length: 11 }, (_, i) => `clang-${21 - i}`)];

const found = new Map<string, string | undefined>();

/**
 * Find the first of some program names on `PATH`.
 *
 * @param names Candidate names, in order of preference.
 * @returns The absolute path of the first executable found, or undefined.
 * @example
 * ```ts
 * await which(["clang", "clang-14"]); // "/usr/bin/clang"
 * ```
 */
export async function which(names: string[]): Promise<string | undefined> {
  const dirs = (Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(":");
  for (const name of names) {
    for (const dir of dirs) {
      if (!dir) continue;
      try {
        const st = await Deno.stat(`${dir}/${name}`);
        if (st.isFile && (st.mode ?? 0o111) & 0o111) return `${dir}/${name}`;
      } catch {
        // Not in this directory.
      }
    }
  }
  return undefined;
}

/**
 * Locate a build tool, once per process: `$BPFSH_<TOOL>` wins, then `PATH`.
 *
 * @param tool `"clang"`, `"bpftool"` or `"cc"`.
 * @returns The tool's absolute path.
 * @throws {BpfError} op `"compile"` with an install hint when the tool is missing.
 * @example
 * ```ts
 * const clang = await findTool("clang"); // "/usr/bin/clang"
 * ```
 */
export async function findTool(tool: "clang" | "bpftool" | "cc"): Promise<string> {
  const envName = `BPFSH_${tool.toUpperCase()}`;
  const key = `${tool}\0${Deno.env.get(envName) ?? ""}\0${Deno.env.get("PATH") ?? ""}`;
  if (!found.has(key)) {
    const explicit = Deno.env.get(envName);
    const names = tool === "clang" ? CLANG_NAMES : tool === "cc" ? ["cc", "gcc", "clang"] : [tool];
    found.set(key, explicit ? explicit : await which(names));
  }
  const path = found.get(key);
  if (!path) {
    throw new BpfError({
      op: "compile",
      message: `cannot find '${tool}' on PATH`,
      hint: INSTALL_HINTS[tool],
    });
  }
  return path;
}

/**
 * A version identity for a tool binary without running it: its real path (which names the
 * LLVM version on Debian, e.g. `/usr/lib/llvm-14/bin/clang`), size and modification time.
 *
 * @param path The tool's path (symlinks are followed).
 * @returns A string that changes whenever the binary is replaced.
 * @example
 * ```ts
 * await toolIdentity("/usr/bin/clang"); // "/usr/lib/llvm-14/bin/clang:101904:1690000000000"
 * ```
 */
export async function toolIdentity(path: string): Promise<string> {
  try {
    const real = await Deno.realPath(path);
    const st = await Deno.stat(real);
    return `${real}:${st.size}:${st.mtime?.getTime() ?? 0}`;
  } catch {
    return path;
  }
}

/** The outcome of {@link runTool}. */
export interface ToolResult {
  /** The exit code. */
  code: number;
  /** Standard output. */
  stdout: Uint8Array;
  /** Standard error, decoded. */
  stderr: string;
}

/** Bounds of one tool run. */
export interface ToolLimits {
  /** Kill the tool after this many milliseconds. */
  timeoutMs?: number;
  /** Address-space limit of the tool, in bytes (its allocations fail beyond it). */
  memoryBytes?: number;
  /** Kill the tool when this aborts (Ctrl-C in the shell). */
  signal?: AbortSignal;
}

/** How many times each tool was started by this process (tests check the cache with it). */
export const toolRuns: Record<string, number> = {};

/**
 * Run a tool to completion, capturing its output, within limits: a source that includes
 * `/dev/zero` or a FIFO would otherwise keep clang reading (and growing) for ever.
 *
 * @param tool The tool's short name, for counting and for the missing-tool hint.
 * @param path The binary to run.
 * @param args Its arguments.
 * @param cwd The working directory, if not the current one.
 * @param limits Time and memory bounds, and an abort signal.
 * @returns The exit code, stdout bytes and stderr text.
 * @throws {BpfError} op `"compile"` with an install hint when the binary cannot be started,
 *   or when the run timed out or was aborted (the tool is killed).
 * @example
 * ```ts
 * const { code, stderr } = await runTool("clang", "/usr/bin/clang", ["--version"]);
 * ```
 */
export async function runTool(
  tool: string,
  path: string,
  args: string[],
  cwd?: string,
  limits: ToolLimits = {},
): Promise<ToolResult> {
  toolRuns[tool] = (toolRuns[tool] ?? 0) + 1;
  if (limits.signal?.aborted) {
    throw new BpfError({ op: "compile", errno: 4, message: `${tool} was stopped before it ran` });
  }
  // The shell sets the limit, then becomes the tool (exec): one process, one pid to kill.
  const [bin, argv] = limits.memoryBytes
    ? [
      "/bin/sh",
      [
        "-c",
        'ulimit -v "$1" && shift && exec "$@"',
        "sh",
        String(Math.ceil(limits.memoryBytes / 1024)),
        path,
        ...args,
      ],
    ]
    : [path, args];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(bin, {
      args: argv,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new BpfError({
      op: "compile",
      message: `cannot run '${path}'`,
      hint: INSTALL_HINTS[tool],
      cause: e,
    });
  }
  let stopped: "timeout" | "abort" | undefined;
  const stop = (why: "timeout" | "abort") => {
    stopped ??= why;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const timer = limits.timeoutMs ? setTimeout(() => stop("timeout"), limits.timeoutMs) : undefined;
  const onAbort = () => stop("abort");
  limits.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const out = await child.output();
    if (stopped) {
      throw new BpfError({
        op: "compile",
        errno: stopped === "abort" ? 4 : 110, // EINTR, ETIMEDOUT
        message: stopped === "abort"
          ? `${tool} was stopped`
          : `${tool} ran longer than ${Math.round(limits.timeoutMs! / 1000)} s and was killed`,
        hint: stopped === "abort"
          ? undefined
          : "does the source include something that never ends (a FIFO, /dev/zero)?",
      });
    }
    return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener("abort", onAbort);
  }
}
