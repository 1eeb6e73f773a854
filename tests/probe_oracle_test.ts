/**
 * One-liners run by bpftrace (the oracle) and by `bpfsh -e` at the same time, on one
 * controlled workload: a copy of cat under a unique comm opening known files, and a copy
 * of dd reading with known block sizes. The maps are compared as data (bpftrace leaves
 * ties in hash order, so entries are compared as sets; our order is checked on its own),
 * printf lines as lists, and the JSON output as objects.
 */

import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";
import { HAVE_BPFTRACE, jsonLines, parseMaps, printfLines, runOracle } from "./probe_oracle.ts";

Deno.test({
  name:
    "bpftrace one-liners: bpfsh -e prints the same maps and printf lines as bpftrace, with either back end",
  ignore: NOT_ROOT,
  async fn() {
    assert(HAVE_BPFTRACE, "bpftrace (the oracle) is missing: tools/setup.sh installs it");
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_oracle_" });
    const id = String(Deno.pid % 100000);
    const cat = `btcat${id}`;
    const dd = `btdd${id}`;
    try {
      await Deno.copyFile("/bin/cat", `${dir}/${cat}`);
      await Deno.copyFile("/bin/dd", `${dir}/${dd}`);
      await Deno.chmod(`${dir}/${cat}`, 0o755);
      await Deno.chmod(`${dir}/${dd}`, 0o755);
      await Deno.writeFile(`${dir}/a.txt`, new Uint8Array(100));
      await Deno.writeFile(`${dir}/b.txt`, new Uint8Array(5000));
      await Deno.writeFile(`${dir}/c.txt`, new Uint8Array(70000));
      const args = [cat, dd];
      const programs = [
        {
          name: "counts by filename, multi-key, wildcards, BEGIN/END, a positional parameter",
          json: true,
          args,
          text: `
            tracepoint:syscalls:sys_enter_openat /comm == str($1)/ {
              @opens[str(args->filename)] = count(); @flags[args->flags] = count();
              @multi[comm, args->flags] = count();
            }
            tracepoint:syscalls:sys_enter_close*, tracepoint:syscalls:sys_enter_open* /comm == str($1)/ {
              @calls[probe] = count();
            }
            BEGIN { @begin = 1; } END { @end = 2; }`,
        },
        {
          name: "hist() and lhist() of read sizes",
          args,
          text: `
            tracepoint:syscalls:sys_enter_read /comm == str($2)/ {
              @size = hist(args->count); @lin = lhist(args->count, 0, 8192, 512);
              @bycomm[comm] = hist(args->count);
            }
            tracepoint:syscalls:sys_exit_read /comm == str($2)/ { @ret = lhist(args->ret, 0, 5000, 1000); }`,
        },
        {
          name: "sum, min, max, avg, count, stats",
          json: true,
          args,
          text: `
            tracepoint:syscalls:sys_enter_read /comm == str($2)/ {
              @sum = sum(args->count); @min = min(args->count); @max = max(args->count);
              @avg = avg(args->count); @count = count(); @stats = stats(args->count);
              @byfd[comm, args->fd] = sum(args->count);
            }`,
        },
        {
          name: "a start/end latency pair with delete",
          args,
          text: `
            tracepoint:syscalls:sys_enter_read /comm == str($2)/ { @start[tid] = nsecs; }
            tracepoint:syscalls:sys_exit_read /comm == str($2) && @start[tid]/ {
              @reads[comm] = count(); @ret[args->ret] = count();
              delete(@start[tid]);
            }`,
        },
        {
          name: "printf lines",
          args,
          text: `
            tracepoint:syscalls:sys_enter_openat /comm == str($1)/ {
              printf("%s %d %s|%-6s|%5d|%x|%lu\\n", comm, args->flags, str(args->filename), "ab", 42, args->flags, args->dfd);
            }
            tracepoint:syscalls:sys_exit_openat /comm == str($1)/ { printf("ret %d\\n", args->ret >= 0); }`,
        },
        {
          name: "interval with exit()",
          selfExit: true,
          // bpftrace's probes may fire again before exit() takes effect: compare what
          // both print (it drops events after exit()), not the final count.
          text:
            `interval:ms:100 { @ticks++; printf("tick %d\\n", @ticks); if (@ticks == 3) { exit(); } }
            END { clear(@ticks); printf("end\\n"); }`,
        },
      ];
      const runs = await runOracle(
        programs,
        async () => {
          const run = async (cmd: string, ...a: string[]) => {
            const out = await new Deno.Command(`${dir}/${cmd}`, {
              args: a,
              cwd: dir,
              stdout: "null",
              stderr: "null",
            }).output();
            assert(out.success, `${cmd} failed`);
          };
          await run(cat, "a.txt", "b.txt", "c.txt", "a.txt");
          await run(dd, "if=c.txt", "of=/dev/null", "bs=512", "count=20");
          await run(dd, "if=c.txt", "of=/dev/null", "bs=4096");
          // The interval program exits after its third tick.
          await new Promise((r) => setTimeout(r, 400));
        },
        30_000,
        true,
        ["direct", "c"],
      );
      const failures: string[] = [];
      for (const run of runs) {
        for (const b of run.backends) {
          // Each back end compared on its own: direct (no C compiler) and C.
          const r = { ...run, bpfsh: b.text, bpfshJson: b.json };
          const label = `${run.program.name} (${b.backend})`;
          const theirs = parseMaps(r.bpftrace);
          const ours = parseMaps(r.bpfsh);
          if (!theirs.size && !printfLines(r.bpftrace).length) {
            failures.push(`${label}: bpftrace printed nothing:\n${r.bpftrace}\n${r.errors}`);
            continue;
          }
          for (const [name, entries] of theirs) {
            const mine = ours.get(name);
            if (!mine) {
              failures.push(
                `${label}: ${name} missing from bpfsh's output:\n${r.bpfsh}\n${r.errors}`,
              );
              continue;
            }
            const a = [...entries].sort().join("\n");
            const b = [...mine].sort().join("\n");
            if (a !== b) failures.push(`${label}: ${name} differs\nbpftrace:\n${a}\nbpfsh:\n${b}`);
          }
          for (const name of ours.keys()) {
            if (!theirs.has(name)) {
              failures.push(`${label}: bpfsh printed ${name}, bpftrace did not`);
            }
          }
          const pt = printfLines(r.bpftrace).filter((l) => !l.startsWith("@") && !/^[[(]/.test(l));
          const po = printfLines(r.bpfsh).filter((l) => !l.startsWith("@") && !/^[[(]/.test(l));
          if (pt.join("\n") !== po.join("\n")) {
            failures.push(
              `${label}: printf lines differ\nbpftrace:\n${pt.join("\n")}\nbpfsh:\n${
                po.join("\n")
              }`,
            );
          }
          if (r.bpftraceJson !== undefined) {
            const norm = (text: string) =>
              jsonLines(text).map((o) =>
                JSON.stringify(
                  o,
                  (_k, v) =>
                    v && typeof v === "object" && !Array.isArray(v)
                      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1)))
                      : v,
                )
              ).sort();
            const a = norm(r.bpftraceJson);
            const b = norm(r.bpfshJson!);
            if (a.join("\n") !== b.join("\n")) {
              failures.push(
                `${label}: JSON differs\nbpftrace:\n${a.join("\n")}\nbpfsh:\n${b.join("\n")}`,
              );
            }
          }
          // Our own order: by value, ascending, as bpftrace sorts.
          for (const [name, entries] of ours) {
            const nums = [...entries.values()].map(Number);
            if (nums.every((n) => !Number.isNaN(n))) {
              assertEquals(
                nums,
                [...nums].sort((x, y) => x - y),
                `${label}: ${name} is not sorted`,
              );
            }
          }
        }
      }
      assert(failures.length === 0, failures.join("\n\n"));
      // The latency pair deleted every start it matched.
      const latency = runs.find((r) => r.program.name.includes("latency"))!;
      for (const b of latency.backends) {
        assertEquals(parseMaps(b.text).get("@start")?.size ?? 0, 0, b.backend);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "bpfsh -l and -lv list the same probes as bpftrace -l and -lv",
  ignore: NOT_ROOT,
  async fn() {
    assert(HAVE_BPFTRACE, "bpftrace (the oracle) is missing: tools/setup.sh installs it");
    const out = async (cmd: string, ...args: string[]) =>
      new TextDecoder().decode(
        (await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output()).stdout,
      );
    for (const flag of ["-l", "-lv"]) {
      for (const glob of ["tracepoint:syscalls:sys_enter_open*", "tracepoint:sched:sched_switch"]) {
        const [theirs, ours] = await Promise.all([
          out("bpftrace", flag, glob),
          out(`${ROOT}/bpfsh`, flag, glob),
        ]);
        assert(theirs.length > 0, `bpftrace ${flag} ${glob} printed nothing`);
        assertEquals(ours, theirs, `${flag} ${glob}`);
      }
    }
  },
});
