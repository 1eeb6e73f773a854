/**
 * Compiling BPF C on the fly: objects, the cache, clang's diagnostics, vmlinux.h.
 * Each test uses its own temporary cache directory, so none depends on another.
 */

import { BpfError } from "../ffi/errors.ts";
import { clangRuns, compile } from "../bpf/build/compile.ts";
import { kernelKey, parseBuildId, vmlinuxHeaderDir } from "../bpf/build/vmlinux.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
/** ELF machine number of BPF objects. */
const EM_BPF = 247;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Run a test body with a fresh cache directory, removed afterwards. */
async function withCache(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "bpfsh-cache-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Check that a file is a 64-bit little-endian ELF object for the BPF machine. */
async function assertBpfObject(path: string): Promise<void> {
  const bytes = await Deno.readFile(path);
  assert(bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c, `${path} is not ELF`);
  const machine = new DataView(bytes.buffer).getUint16(18, true);
  assert(machine === EM_BPF, `${path} has e_machine ${machine}, expected ${EM_BPF}`);
}

Deno.test("compile() builds a .bpf.c into a BPF ELF object", async () => {
  await withCache(async (dir) => {
    const r = await compile(`${FIXTURES}minimal.bpf.c`, { cacheDir: dir });
    assert(!r.cached, "first compile reported cached");
    assert(r.objectPath.startsWith(dir) && r.objectPath.endsWith(".o"), r.objectPath);
    await assertBpfObject(r.objectPath);
  });
});

Deno.test("compile() returns the cached object on the second call without running clang", async () => {
  await withCache(async (dir) => {
    const first = await compile(`${FIXTURES}minimal.bpf.c`, { cacheDir: dir });
    const runs = clangRuns();
    const second = await compile(`${FIXTURES}minimal.bpf.c`, { cacheDir: dir });
    assert(second.cached, "second compile was not cached");
    assert(clangRuns() === runs, `a cached compile ran clang (${clangRuns() - runs} times)`);
    assert(second.objectPath === first.objectPath, "cached object path differs");
  });
});

Deno.test("compile() throws a BpfError with clang's file:line:col for a broken source", async () => {
  await withCache(async (dir) => {
    let err: unknown;
    try {
      await compile(`${FIXTURES}broken.bpf.c`, { cacheDir: dir });
    } catch (e) {
      err = e;
    }
    assert(err instanceof BpfError, `expected a BpfError, got ${err}`);
    assert(err.op === "compile", `op is ${err.op}`);
    assert(err.message.includes("clang failed for '"), err.message);
    const located = /broken\.bpf\.c:9:\d+: error: /;
    assert(located.test(err.message), `message lacks file:line:col: ${err.message}`);
    assert(located.test(err.log ?? ""), `log lacks file:line:col: ${err.log}`);
  });
});

Deno.test("compile() builds C source given as a string", async () => {
  await withCache(async (dir) => {
    const source = [
      "#include <linux/bpf.h>",
      "#include <bpf/bpf_helpers.h>",
      'SEC("socket") int keep_all(struct __sk_buff *skb) { return skb->len; }',
      'char LICENSE[] SEC("license") = "GPL";',
    ].join("\n");
    const r = await compile({ source, name: "keep_all" }, { cacheDir: dir });
    await assertBpfObject(r.objectPath);
    const again = await compile({ source, name: "keep_all" }, { cacheDir: dir });
    assert(again.cached, "the same source string was not cached");
  });
});

Deno.test("compile() recompiles when a local #include file changes", async () => {
  await withCache(async (dir) => {
    const src = await Deno.makeTempDir({ prefix: "bpfsh-src-" });
    try {
      await Deno.writeTextFile(`${src}/limits.h`, "#define LIMIT 1\n");
      await Deno.writeTextFile(
        `${src}/prog.bpf.c`,
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "limits.h"\n' +
          'SEC("socket") int f(struct __sk_buff *skb) { return LIMIT; }\n' +
          'char LICENSE[] SEC("license") = "GPL";\n',
      );
      const a = await compile(`${src}/prog.bpf.c`, { cacheDir: dir });
      await Deno.writeTextFile(`${src}/limits.h`, "#define LIMIT 2\n");
      const b = await compile(`${src}/prog.bpf.c`, { cacheDir: dir });
      assert(!b.cached && b.objectPath !== a.objectPath, "an include change hit the cache");
    } finally {
      await Deno.remove(src, { recursive: true });
    }
  });
});

Deno.test("compile() copies the object to the output path, cached or not", async () => {
  await withCache(async (dir) => {
    const output = `${dir}/out/minimal.bpf.o`;
    const a = await compile(`${FIXTURES}minimal.bpf.c`, { cacheDir: dir, output });
    assert(a.objectPath === output, a.objectPath);
    await Deno.remove(output);
    const b = await compile(`${FIXTURES}minimal.bpf.c`, { cacheDir: dir, output });
    assert(b.cached && b.objectPath === output, "cached compile did not copy to output");
    await assertBpfObject(output);
  });
});

Deno.test("compile() names the missing clang and how to install it", async () => {
  await withCache(async (dir) => {
    const path = Deno.env.get("PATH");
    const explicit = Deno.env.get("BPFSH_CLANG");
    Deno.env.set("PATH", dir);
    Deno.env.delete("BPFSH_CLANG");
    try {
      await compile(`${FIXTURES}minimal.bpf.c`, { cacheDir: dir });
      throw new Error("compile succeeded without clang on PATH");
    } catch (e) {
      assert(e instanceof BpfError, `expected a BpfError, got ${e}`);
      assert(e.message.includes("'clang'"), e.message);
      assert(e.hint?.includes("install clang"), `hint: ${e.hint}`);
    } finally {
      if (path !== undefined) Deno.env.set("PATH", path);
      if (explicit !== undefined) Deno.env.set("BPFSH_CLANG", explicit);
    }
  });
});

Deno.test("compile() reports an unreadable source as ENOENT with its path", async () => {
  await withCache(async (dir) => {
    try {
      await compile("tests/fixtures/no-such.bpf.c", { cacheDir: dir });
      throw new Error("compile of a missing file succeeded");
    } catch (e) {
      assert(e instanceof BpfError && e.code === "ENOENT", `got ${e}`);
      assert(e.message.includes("'tests/fixtures/no-such.bpf.c'"), e.message);
    }
  });
});

Deno.test("vmlinuxHeaderDir() gives concurrent callers one complete vmlinux.h", async () => {
  await withCache(async (dir) => {
    const dirs = await Promise.all([1, 2, 3].map(() => vmlinuxHeaderDir({ cacheDir: dir })));
    assert(dirs.every((d) => d === dirs[0]), `different dirs: ${dirs}`);
    assert(dirs[0].endsWith(await kernelKey()), dirs[0]);
    const header = await Deno.readTextFile(`${dirs[0]}/vmlinux.h`);
    assert(header.includes("struct task_struct {"), "vmlinux.h lacks struct task_struct");
    assert(/#endif \/\* __VMLINUX_H__ \*\/\s*$/.test(header), "vmlinux.h is truncated");
    const leftovers = [...Deno.readDirSync(dirs[0])].filter((e) => e.name !== "vmlinux.h");
    assert(leftovers.length === 0, `temporary files left: ${leftovers.map((e) => e.name)}`);
  });
});

Deno.test("parseBuildId() finds the GNU build id among ELF notes", () => {
  const note = (name: string, type: number, desc: number[]) => {
    const nameBytes = new TextEncoder().encode(name + "\0");
    const pad = (n: number) => (n + 3) & ~3;
    const out = new Uint8Array(12 + pad(nameBytes.length) + pad(desc.length));
    const view = new DataView(out.buffer);
    view.setUint32(0, nameBytes.length, true);
    view.setUint32(4, desc.length, true);
    view.setUint32(8, type, true);
    out.set(nameBytes, 12);
    out.set(desc, 12 + pad(nameBytes.length));
    return out;
  };
  const xen = note("Xen", 6, [1, 2, 3, 4, 5]);
  const gnu = note("GNU", 3, [0xde, 0xad, 0xbe, 0xef]);
  const notes = new Uint8Array([...xen, ...gnu]);
  assert(parseBuildId(notes) === "deadbeef", `got ${parseBuildId(notes)}`);
  assert(parseBuildId(xen) === undefined, "found a build id where there is none");
});
