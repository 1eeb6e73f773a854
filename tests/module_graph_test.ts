// What importing mod.ts loads: only the project's own modules. An npm package or a node:
// builtin in its static graph is loaded by every script at start-up (node:zlib alone cost
// milliseconds: bench/NOTES.md); such dependencies are imported on first use instead.
import { assert, assertEquals } from "./assert.ts";
import { modulesLoadedBy, NOT_ROOT, ROOT } from "./helpers.ts";

Deno.test("mod.ts's static import graph holds only the project's own modules", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}/mod.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const foreign = graph.modules.map((m) => m.specifier).filter((s) => !s.startsWith("file:"));
  assertEquals(foreign, [], "imported by mod.ts at load time");
});

// What compiling a program through probe/pipeline.ts loads (static imports and the support
// it loads on demand): a program of providers that read only tracefs loads neither the BTF
// parser nor the ELF reader nor libbpf's bindings (they cost ~8 ms of start-up:
// bench/NOTES.md); a kfunc one loads the BTF parser, which shows the record is complete.
// Deno's debug log names each module as it fetches it.
async function modulesLoaded(programs: string[]): Promise<{ loaded: string[]; out: string }> {
  return await modulesOf(`
    const { compileProbeAsync } = await import(${JSON.stringify(`${ROOT}/probe/pipeline.ts`)});
    for (const p of ${JSON.stringify(programs)}) {
      try {
        await compileProbeAsync(p);
        console.log("compiled");
      } catch (e) {
        console.log(String(e).split("\\n")[0]);
      }
    }`);
}

/** The modules a piece of code run by `deno eval` loads (from Deno's debug log), and its output. */
async function modulesOf(code: string): Promise<{ loaded: string[]; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "-L", "debug", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const loaded = modulesLoadedBy(new TextDecoder().decode(out.stderr));
  return { loaded, out: new TextDecoder().decode(out.stdout) };
}

const HEAVY =
  /^(bpf\/btf\/|bpf\/elf\/|ffi\/libbpf\.ts|bpf\/link\/(kprobe|uprobe|binaries|listing|link)\.ts|probe\/(kfunc|symbols)\.ts)/;

Deno.test("compiling tracepoint, interval, profile and BEGIN/END programs loads no BTF, ELF or libbpf module", async () => {
  const lean = await modulesLoaded([
    "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } BEGIN { exit(); }",
    "tracepoint:syscalls:sys_enter_read* { @[probe] = count(); } END { clear(@); }",
    "tracepoint:syscalls:sys_enter_read { @ = hist(args->count); }",
    "interval:ms:100 { @ = count(); } profile:hz:99 { @s[kstack] = count(); }",
  ]);
  assert(lean.loaded.includes("probe/pipeline.ts"), `the debug log names no module:\n${lean.out}`);
  if (!NOT_ROOT) assertEquals(lean.out, "compiled\n".repeat(4));
  assertEquals(lean.loaded.filter((m) => HEAVY.test(m)), [], "loaded by the compile");
  const kfunc = await modulesLoaded(["kfunc:vfs_read { @[args->count] = count(); }"]);
  assert(kfunc.loaded.includes("bpf/btf/btf.ts"), `a kfunc program loads BTF:\n${kfunc.out}`);
});

Deno.test({
  name:
    "bpfsh -e's direct back end attaches before the runtime loads: no libbpf, BTF, object, map or stream module",
  ignore: NOT_ROOT,
  async fn() {
    const { loaded, out } = await modulesOf(`
      const { startDirect } = await import(${JSON.stringify(`${ROOT}/probe/direct/start.ts`)});
      const s = await startDirect(
        "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } BEGIN { exit(); }",
        { strict: true },
      );
      console.log(s ? "attached" : "not direct");
      s?.load.close();`);
    assertEquals(out, "attached\n");
    const runtime = /^(bpf\/(object|map|events|build)\/|probe\/(runner|prepare)\.ts)/;
    assertEquals(loaded.filter((m) => HEAVY.test(m) || runtime.test(m)), [], "loaded to attach");
  },
});
