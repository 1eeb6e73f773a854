// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * The probe language's kernel function probes, `bpfsh -e` end to end: `kprobe:`,
 * `kretprobe:` (`retval`), `kfunc:` and `kretfunc:` (fentry/fexit: `args->NAME` and `retval`
 * typed from the kernel's BTF). Where the doctor reports
 * the kind working (Debian's 6.1 in the guest lane) each attaches and counts a controlled
 * workload exactly: this test's own thread sleeping and reading known sizes, selected
 * by `tid == $1`. Where the kind is
 * missing, `bpfsh -e` fails with the clear error, the caret and a hint naming a tracepoint.
 */

import { ProbeError } from "../probe/diagnostic.ts";
import { compileProbe } from "../probe/compile.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import { doctorSays } from "./link_helpers.ts";
import { type OracleProgram, parseMaps, runOracle } from "./probe_oracle.ts";

const KINDS = ["kprobe", "kretprobe", "kfunc", "kretfunc"] as const;
type Kind = typeof KINDS[number];

/** The doctor's name for what each kind needs. */
const FEATURE: Record<Kind, string> = {
  kprobe: "kprobe",
  kretprobe: "kretprobe",
  kfunc: "fentry",
  kretfunc: "fexit",
};

const HAVE_BTF = (() => {
  try {
    return Deno.statSync("/sys/kernel/btf/vmlinux").isFile;
  } catch {
    return false;
  }
})();

const SLEEPS = 5;
const READS = 7;
/** A read size nothing else in this process asks for. */
const READ_SIZE = 4321;

const libc = Deno.dlopen("libc.so.6", { usleep: { parameters: ["u32"], result: "i32" } });

/** The id of the thread running this JavaScript (under `deno test` it is not the pid). */
function jsThreadId(): number {
  return Number(/\/task\/(\d+)$/.exec(Deno.readLinkSync("/proc/thread-self"))?.[1]);
}

/**
 * The workload, all on the JavaScript thread (the programs select its tid): SLEEPS calls of
 * do_nanosleep and READS calls of vfs_read of READ_SIZE bytes (from /dev/zero: each returns
 * READ_SIZE).
 */
function workload(): Promise<void> {
  for (let i = 0; i < SLEEPS; i++) libc.symbols.usleep(100);
  using zero = Deno.openSync("/dev/zero");
  const buf = new Uint8Array(READ_SIZE);
  for (let i = 0; i < READS; i++) {
    const n = zero.readSync(buf);
    assertEquals(n, READ_SIZE, "a short read from /dev/zero");
  }
  return Promise.resolve();
}

/** One program per kind, and what its maps must hold after the workload. */
const PROGRAMS: Record<Kind, { text: string; want: Record<string, Record<string, string>> }> = {
  kprobe: {
    text: "kprobe:do_nanosleep /tid == $1/ { @sleeps = count(); } " +
      "kprobe:vfs_read /tid == $1/ { @reads[arg2] = count(); }",
    want: { "@sleeps": { "": `${SLEEPS}` }, "@reads": { [READ_SIZE]: `${READS}` } },
  },
  kretprobe: {
    text: "kretprobe:vfs_read /tid == $1/ { @ret[retval] = count(); }",
    want: { "@ret": { [READ_SIZE]: `${READS}` } },
  },
  kfunc: {
    text: "kfunc:do_nanosleep /tid == $1/ { @entries = count(); } " +
      "kfunc:vfs_read /tid == $1/ { @reads[args->count] = count(); }",
    want: { "@entries": { "": `${SLEEPS}` }, "@reads": { [READ_SIZE]: `${READS}` } },
  },
  kretfunc: {
    text: "kretfunc:do_nanosleep /tid == $1/ { @exits = count(); } " +
      "kretfunc:vfs_read /tid == $1 && args->count == " + READ_SIZE +
      "/ { @ret[retval] = count(); }",
    want: { "@exits": { "": `${SLEEPS}` }, "@ret": { [READ_SIZE]: `${READS}` } },
  },
};

/** What the doctor says of each kind (probed once: the test list follows from it). */
const WORKS = NOT_ROOT ? undefined : Object.fromEntries(
  await Promise.all(KINDS.map(async (k) => [k, await doctorSays(FEATURE[k])])),
);

const working = KINDS.filter((k) => WORKS?.[k]);
const missing = KINDS.filter((k) => WORKS && !WORKS[k]);

Deno.test({
  name: `bpfsh -e: ${working.join(", ") || "no kernel function probe"} attach and count ` +
    `${SLEEPS} sleeps and ${READS} reads exactly`,
  ignore: NOT_ROOT || !working.length,
  async fn() {
    const args = [String(jsThreadId())];
    const programs: OracleProgram[] = working.map((k) => ({
      name: k,
      text: PROGRAMS[k].text,
      args,
    }));
    // Compiling under TCG (the guest lane) takes a while: attach may take minutes there.
    // bpfsh alone: beside it under TCG, bpftrace's kretfunc run once printed no maps before
    // runOracle's SIGKILL, so the guest lane does not hold bpfsh to it.
    const runs = await runOracle(programs, workload, 240_000, false);
    const failures: string[] = [];
    for (const run of runs) {
      const kind = run.program.name as Kind;
      // The entries the workload makes, from each tool (other reads of this thread, such as
      // of the tools' own output, differ with when each attached and detached).
      const outputs = [["bpfsh", run.bpfsh]];
      for (const [tool, text] of outputs) {
        const got = parseMaps(text);
        for (const [map, entries] of Object.entries(PROGRAMS[kind].want)) {
          for (const [key, value] of Object.entries(entries)) {
            const have = got.get(map)?.get(key);
            if (have !== value) {
              failures.push(
                `${kind} under ${tool}: ${map}[${key}] is ${have}, not ${value}\n${text}\n` +
                  run.errors,
              );
            }
          }
        }
      }
    }
    assert(failures.length === 0, failures.join("\n\n"));
  },
});

Deno.test({
  name: `bpfsh -e: ${missing.join(", ") || "no kernel function probe"} refused with the ` +
    "error, a caret and a tracepoint hint",
  ignore: NOT_ROOT || !missing.length,
  async fn() {
    const failures: string[] = [];
    await Promise.all(missing.map(async (kind) => {
      const text = PROGRAMS[kind].text;
      const out = await new Deno.Command(`${ROOT}/bpfsh`, {
        args: ["-e", text, "1"],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      try {
        assertEquals(out.code, 1, `exit code for ${kind}`);
        assertMatch(
          err,
          kind.endsWith("probe")
            ? `ERROR: ${kind} probes are not available on this kernel`
            : `ERROR: ${kind} probes (fentry/fexit) are refused by this kernel`,
        );
        assertMatch(err, /\n\^~+/);
        assertMatch(err, /HINT: .*tracepoint/);
      } catch (e) {
        failures.push(`${kind}: ${(e as Error).message}\n${err}`);
      }
    }));
    assert(failures.length === 0, failures.join("\n\n"));
  },
});

Deno.test({
  name: "kfunc args and kretfunc retval are typed from BTF; a wrong argument lists the real ones",
  ignore: !HAVE_BTF,
  fn() {
    const spec = compileProbe(
      "kretfunc:vfs_read { @ret[retval] = count(); @size = sum(args->count); }",
    );
    // vfs_read(struct file *, char *, size_t, loff_t *) returns ssize_t: the return value is
    // the fexit slot after the four arguments, signed.
    assertMatch(spec.c, /__s64 _retval; \/\* ssize_t \*\//);
    assertMatch(spec.c, "offsetof(struct tp_kfunc_vfs_read, _retval) == 32");
    assertMatch(spec.c, "offsetof(struct tp_kfunc_vfs_read, count) == 16");
    const e = assertThrows(
      () => compileProbe("kfunc:vfs_read { @[args->size] = count(); }"),
      ProbeError,
    );
    assertMatch(e.diagnostic, "kfunc:vfs_read has no argument 'size'");
    assertMatch(e.diagnostic, "its arguments are: file, buf, count, pos");
    const none = assertThrows(
      () => compileProbe("kfunc:bpfsh_no_such_function { @[args->x] = count(); }"),
      ProbeError,
    );
    assertMatch(none.diagnostic, "has no function 'bpfsh_no_such_function'");
    const other = assertThrows(
      () => compileProbe("interval:s:1 { @[args->count] = count(); }"),
      ProbeError,
    );
    assertMatch(other.diagnostic, /args builtin can only be used with tracepoint, kfunc/);
  },
});
