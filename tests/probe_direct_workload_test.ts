/**
 * The direct back end against the C back end on workloads of copied binaries: tracepoint
 * fields of every shape (char arrays at 4-byte offsets, `__data_loc` strings, signed
 * shorts), raw tracepoint arguments, wildcards, latency pairs, strings and builtins; and
 * loads under a CPU profiler's signals (host only: under the guest lane's emulation a 50 µs
 * profiler makes each run take minutes). The rest of its tests are in probe_direct_test.ts.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import { parseMaps, printfLines, runOracle } from "./probe_oracle.ts";

Deno.test({
  name:
    "direct back end: tracepoint fields (char arrays, __data_loc, signed shorts), raw tracepoint args, wildcards, latency pairs, strings and builtins agree with the C back end",
  ignore: NOT_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_direct_" });
    const id = String(Deno.pid % 100000);
    const sh = `btdsh${id}`;
    const cat = `btdcat${id}`;
    try {
      await Deno.copyFile("/bin/sh", `${dir}/${sh}`);
      await Deno.copyFile("/bin/cat", `${dir}/${cat}`);
      await Deno.chmod(`${dir}/${sh}`, 0o755);
      await Deno.chmod(`${dir}/${cat}`, 0o755);
      await Deno.writeTextFile(`${dir}/a.txt`, "hi\n");
      const args = [sh, cat];
      const programs = [
        {
          name: "fields, raw tracepoints, wildcards, latency",
          args,
          text: `
            tracepoint:task:task_newtask /args->comm == str($1)/ {
              printf("new %s %d\\n", args->comm, args->oom_score_adj); @forks[args->comm] = count();
            }
            tracepoint:sched:sched_process_fork /str(args->parent_comm) == str($1)/ {
              @parent[str(args->parent_comm)] = count();
            }
            rawtracepoint:sched_process_exec /comm == str($2)/ { @rexec = count(); @rarg[arg0 > 0] = count(); }
            tracepoint:syscalls:sys_enter_openat /comm == str($2)/ {
              @files[str(args->filename)] = count(); @lat[tid] = nsecs;
            }
            tracepoint:syscalls:sys_exit_openat /comm == str($2) && @lat[tid]/ {
              @ok = lhist(args->ret >= 0, 0, 2, 1); delete(@lat[tid]);
            }
            tracepoint:syscalls:sys_enter_open* /comm == str($2)/ { @probes[probe] = count(); }`,
        },
        {
          name: "strings and builtins",
          args,
          text: `
            tracepoint:syscalls:sys_enter_openat /comm == str($2)/ {
              $s = "hello"; $t = comm;
              printf("%s %s %d %d %d %d\\n", $s, $t, $s == "hello", $s != "hello",
                strncmp($s, "help", 3), strncmp(comm, "btd", 3));
              printf("%d %d %d %d %d %d %d\\n", pid > 0, tid > 0, uid == 0, gid == 0, nsecs > 0,
                elapsed < 100000000000, cpu < 1024);
              @names[comm, "x", pid > 0] = 1;
              exit();
            }`,
        },
      ];
      const runs = await runOracle(
        programs,
        async () => {
          const out = await new Deno.Command(`${dir}/${sh}`, {
            args: ["-c", `./${cat} a.txt a.txt /dev/null >/dev/null; true & wait`],
            cwd: dir,
            stdout: "null",
            stderr: "null",
          }).output();
          assert(out.success, `${sh} failed`);
        },
        30_000,
        false,
        ["direct", "c"],
      );
      for (const r of runs) {
        const [direct, c] = r.backends;
        assert(direct.text.includes("Attaching"), `${r.program.name}: direct:\n${r.errors}`);
        assertEquals(
          [...parseMaps(direct.text)].map(([k, v]) => [k, [...v].sort()]),
          [...parseMaps(c.text)].map(([k, v]) => [k, [...v].sort()]),
          `${r.program.name}: maps, direct against C`,
        );
        assertEquals(printfLines(direct.text), printfLines(c.text), r.program.name);
      }
      const fields = parseMaps(runs[0].backends[0].text);
      assertEquals(fields.get("@forks")?.get(sh), "2", "the copied shell forks cat and true");
      assertEquals(fields.get("@rexec")?.get(""), "1", "one exec of the copied cat");
      assertEquals(fields.get("@files")?.get("a.txt"), "2");
      assertEquals(printfLines(runs[1].backends[0].text), [
        `hello ${cat.slice(0, 15)} 1 0 0 0`,
        "1 1 1 1 1 1 1",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "direct back end: a load interrupted by signals (a CPU profiler's) is tried again",
  ignore: NOT_ROOT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_prof_" });
    try {
      for (let i = 0; i < 4; i++) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--quiet",
            "--cpu-prof-dir",
            dir,
            "--cpu-prof-interval",
            "50",
            `${ROOT}/shell/main.ts`,
            "-e",
            "tracepoint:syscalls:sys_enter_open* { @[probe] = count(); } " +
            'interval:ms:10 { printf("%d\\n", elapsed > 0); exit(); }',
          ],
          env: { BPFSH_PROBE_BACKEND: "direct" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(out.success, new TextDecoder().decode(out.stderr));
        assertMatch(new TextDecoder().decode(out.stdout), /^1$/m);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
