/**
 * The probe language from TypeScript: the `probe` tagged template from mod.ts (maps as
 * typed BpfMaps, descriptors, printf lines as an async iterable, print() in bpftrace's
 * format, close()), and `--emit-c` C that, loaded as a plain object, counts the same.
 */

import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, ROOT } from "./helpers.ts";
import { BpfObject, probe } from "../mod.ts";
import { compileProbe } from "../probe/compile.ts";
import { readMap } from "../probe/read.ts";
import { possibleCpus } from "../bpf/map/map.ts";

/** A copy of cat under a unique comm, opening `files` (relative to `dir`). */
async function workload(dir: string, comm: string, files: string[]): Promise<void> {
  const out = await new Deno.Command(`${dir}/${comm}`, { args: files, cwd: dir, stdout: "null" })
    .output();
  assert(out.success, "the workload failed");
}

async function setup(tag: string): Promise<{ dir: string; comm: string }> {
  const dir = await Deno.makeTempDir({ prefix: `bpfsh_${tag}_` });
  const comm = `bt${tag}${Deno.pid % 100000}`.slice(0, 15);
  await Deno.copyFile("/bin/cat", `${dir}/${comm}`);
  await Deno.chmod(`${dir}/${comm}`, 0o755);
  await Deno.writeTextFile(`${dir}/one.txt`, "1\n");
  await Deno.writeTextFile(`${dir}/two.txt`, "2\n");
  return { dir, comm };
}

for (const backend of ["auto", "c"] as const) {
  bpfTest(
    `probe\`...\` (${backend}) runs a program: typed maps, descriptors, printf lines, print(), close()`,
    () => templateRuns(backend),
  );
}

async function templateRuns(backend: "auto" | "c"): Promise<void> {
  const { dir, comm } = await setup(`tp${backend[0]}`);
  try {
    await using p = await probe.with({ backend })`
      tracepoint:syscalls:sys_enter_openat /comm == ${JSON.stringify(comm)}/ {
        @opens[str(args->filename)] = count();
        @by[comm, args->flags] = count();
        @size = hist(${1000});
        printf("open %s\n", str(args->filename));
      }`;
    await workload(dir, comm, ["one.txt", "two.txt", "one.txt"]);
    const seen: string[] = [];
    for await (const line of p) {
      seen.push(line);
      if (seen.filter((l) => l.endsWith(".txt")).length === 3) break;
    }
    assertEquals(seen.filter((l) => l.endsWith(".txt")), [
      "open one.txt",
      "open two.txt",
      "open one.txt",
    ]);
    // The maps are BpfMaps typed by BTF: string keys, per-CPU u64 values.
    const opens = p.maps["@opens"];
    const counts = new Map(
      [...opens.entries()].map(([k, v]) => [
        k as string,
        (v as bigint[]).reduce((a, b) => a + b),
      ]),
    );
    assertEquals(counts.get("one.txt"), 2n);
    assertEquals(counts.get("two.txt"), 1n);
    // The descriptor says how to label and reduce each map.
    const by = p.descriptors.find((d) => d.name === "@by")!;
    assertEquals(by.bpfName, "at_by");
    assertEquals(by.kind, "count");
    assertEquals(by.keys.map((k) => [k.name, k.type]), [["comm", "string[16]"], [
      "flags",
      "int64",
    ]]);
    const size = p.descriptors.find((d) => d.name === "@size")!;
    assertEquals(size.kind, "hist");
    const snap = p.descriptors.find((d) => d.name === "@opens")!.read();
    const one = snap.entries.find((e) => e.keys[0] === "one.txt")!;
    assertEquals(one.value, { kind: "count", value: 2n });
    await p.stop();
    const text = p.print();
    assertMatch(text, "@opens[one.txt]: 2\n");
    assertMatch(text, "@size: \n[512, 1K)");
    assertMatch(p.printJson().join("\n"), '"@opens": {');
    // Built without C where it can be (the direct back end), through clang when asked.
    assertEquals(p.object instanceof BpfObject, backend === "c");
    if (backend === "auto") assertEquals(p.object.constructor.name, "DirectObject");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

bpfTest(
  "--emit-c: the generated C, loaded as a plain object, counts what bpfsh counts",
  async () => {
    const { dir, comm } = await setup("emc");
    try {
      const text = `tracepoint:syscalls:sys_enter_openat /comm == "${comm}"/ {
          @opens[str(args->filename), probe] = count(); @total = sum(1);
        }
        tracepoint:syscalls:sys_enter_open*, tracepoint:syscalls:sys_enter_close /comm == "${comm}"/ {
          @calls[probe] = count();
        }`;
      const spec = compileProbe(text, { standalone: true });
      assertMatch(spec.c, 'SEC("tracepoint/syscalls/sys_enter_openat")');
      assert(!spec.c.includes("vmlinux.h"), "the C needs no vmlinux.h");
      await Deno.writeTextFile(`${dir}/x.bpf.c`, spec.c);
      using obj = await BpfObject.open(`${dir}/x.bpf.c`);
      obj.load();
      obj.attachAll();
      await using p = await probe`${text}`;
      await workload(dir, comm, ["one.txt", "two.txt", "one.txt"]);
      await p.stop();
      const ctx = { probeNames: spec.probeNames, extras: { funcNames: spec.funcNames } };
      for (const m of spec.maps) {
        const loaded = readMap(m, obj.map(m.bpfName), ctx, possibleCpus()).entries;
        const ours = p.descriptors.find((d) => d.name === m.name)!.read().entries;
        assertEquals(
          loaded.map((e) => [e.keyText, e.value]),
          ours.map((e) => [e.keyText, e.value]),
          `${m.name} differs`,
        );
      }
      assertMatch(p.print(), `@opens[one.txt, tracepoint:syscalls:sys_enter_openat]: 2`);
      // One program for the wildcard, its matches told apart by attach cookie.
      assertEquals(compileProbe(text).programs.filter((g) => g.cookie).length, 1);
      assertMatch(p.print(), /@calls\[tracepoint:syscalls:sys_enter_close\]: \d+/);
      // One program for the wildcard, its matches told apart by attach cookie.
      assertEquals(compileProbe(text).programs.filter((g) => g.cookie).length, 1);
      assertMatch(p.print(), /@calls\[tracepoint:syscalls:sys_enter_close\]: \d+/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

bpfTest(
  "bpfsh --emit-c prints C that compiles; bpfsh -l matches the tracepoints of tracefs",
  async () => {
    const run = (...args: string[]) =>
      new Deno.Command(`${ROOT}/bpfsh`, { args, stdout: "piped", stderr: "piped" }).output();
    const c = await run("--emit-c", "-e", 'BEGIN { printf("%s %d\\n", comm, pid); exit(); }');
    assert(c.success, new TextDecoder().decode(c.stderr));
    assertMatch(new TextDecoder().decode(c.stdout), 'SEC("raw_tp")');
    const l = await run("-l", "tracepoint:syscalls:sys_enter_open*");
    const listed = new TextDecoder().decode(l.stdout).trim().split("\n");
    const events = Deno.readTextFileSync("/sys/kernel/tracing/available_events").split("\n")
      .filter((e) => /^syscalls:sys_enter_open/.test(e)).map((e) => `tracepoint:${e}`).sort();
    assertEquals(listed, events);
  },
);
