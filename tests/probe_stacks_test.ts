/**
 * `kstack` and `ustack` in `bpfsh -e`, against bpftrace (the oracle) on one workload: the
 * stack_chain fixture (main → alpha → beta → gamma, gamma calling getppid in a loop,
 * built with frame pointers) under a unique comm, which exits before either tool prints.
 * Kernel stacks must be the same text as bpftrace's, in map keys (both modes), printf and
 * print, text and JSON; user stacks must name the four frames in order although the
 * process is gone (bpftrace 0.17 prints their bare addresses then).
 */

import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import { HAVE_BPFTRACE, jsonLines, printfLines, runOracle } from "./probe_oracle.ts";

const CHAIN = `${ROOT}/build/tests/stack_chain`;

/** The entries of one map in text output, multi-line (stack) keys included. */
function mapEntries(text: string, name: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`^${name}\\[([^]*?)\\]: (.*)$`, "gm");
  for (const m of text.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

/** A stack's function names, without offsets. */
function names(stack: string): string[] {
  return stack.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith(","))
    .map((l) => l.replace(/\+\d+$/, ""));
}

/** The data of a JSON output's map line. */
function jsonMap(text: string, name: string): Record<string, unknown> {
  const line = jsonLines(text).find((o) => o.type === "map" && name in (o.data as object));
  return (line?.data as Record<string, Record<string, unknown>>)?.[name] ?? {};
}

Deno.test({
  name: "kstack and ustack: bpftrace's layout, kernel frames as bpftrace's, user frames after exit",
  ignore: NOT_ROOT,
  async fn() {
    assert(HAVE_BPFTRACE, "bpftrace (the oracle) is missing: tools/setup.sh installs it");
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_pstack_" });
    const comm = `pchain${Deno.pid % 100000}`;
    try {
      await Deno.copyFile(CHAIN, `${dir}/${comm}`);
      await Deno.chmod(`${dir}/${comm}`, 0o755);
      const filter = `tracepoint:syscalls:sys_enter_getppid /comm == str($1)/`;
      let pid = 0;
      const runs = await runOracle([
        {
          name: "stack keys",
          json: true,
          args: [comm],
          text: `${filter} { @[ustack] = count(); @k[kstack] = count();
                   @kp[kstack(perf, 4), comm] = count(); }`,
        },
        {
          name: "printf and print",
          args: [comm],
          text:
            `${filter} { if (@n++ == 0) { printf("%s|\\n", ustack(perf, 4)); print(kstack(3)); } }`,
        },
      ], async () => {
        const child = new Deno.Command(`${dir}/${comm}`, { args: ["60"], stdout: "null" }).spawn();
        pid = child.pid;
        assert((await child.status).success);
      });
      // The process was gone before either tool printed its stacks.
      assert(!(await Deno.stat(`/proc/${pid}`).then(() => true, () => false)), "exited");
      const [keys, printed] = runs;
      assert(keys.bpfsh.includes("@k["), `${keys.bpfsh}\n${keys.errors}`);

      // User stacks: the four frames, in order, from a process that has exited.
      const user = [...mapEntries(keys.bpfsh, "@").keys()];
      assertEquals(user.length, 1, keys.bpfsh);
      assertEquals(names(user[0]).slice(0, 4), ["gamma", "beta", "alpha", "main"], user[0]);
      assert(user[0].startsWith("\n    gamma+"), "bpftrace's key layout: 4 spaces");
      const oracleUser = [...mapEntries(keys.bpftrace, "@").keys()][0] ?? "";
      console.log(`bpftrace's ustack of the exited process: ${JSON.stringify(oracleUser)}`);

      // Kernel stacks: the entry path, the same text (and counts) as bpftrace's.
      const kernel = mapEntries(keys.bpfsh, "@k");
      assert([...kernel.keys()].some((k) => names(k).includes("do_syscall_64")), keys.bpfsh);
      assertEquals(kernel, mapEntries(keys.bpftrace, "@k"));
      assertEquals(mapEntries(keys.bpfsh, "@kp"), mapEntries(keys.bpftrace, "@kp"));
      assert([...mapEntries(keys.bpfsh, "@kp").keys()][0].startsWith("\n\tffffffff"), "perf mode");
      // JSON: the same keys as bpftrace's -f json.
      assertEquals(jsonMap(keys.bpfshJson!, "@k"), jsonMap(keys.bpftraceJson!, "@k"));
      assertEquals(jsonMap(keys.bpfshJson!, "@kp"), jsonMap(keys.bpftraceJson!, "@kp"));
      const jsonUser = Object.keys(jsonMap(keys.bpfshJson!, "@"));
      assertEquals(names(jsonUser[0] ?? "").slice(0, 4), ["gamma", "beta", "alpha", "main"]);

      // printf("%s") of a stack and print(kstack): bpftrace's text exactly (it names a live
      // process's frames too).
      assertEquals(printfLines(printed.bpfsh), printfLines(printed.bpftrace), printed.errors);
      const lines = printfLines(printed.bpfsh);
      assert(/^\t[0-9a-f]+ gamma\+\d+ \(.*\)$/.test(lines[0]), lines.join("\n"));
      assert(lines.some((l) => /^ {8}\S+\+\d+$/.test(l)), "print(kstack(3)) frames");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
