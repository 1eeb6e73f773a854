// Minimal CO-RE BTF: made at compile, found by object bytes and kernel, and right: a CO-RE
// read through it (task->real_parent->tgid) returns the true parent pid.
import { BpfObject, compile } from "../mod.ts";
import { coreBtfFor, objectDigest } from "../bpf/build/core_btf.ts";
import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";

Deno.test("objectDigest() tells objects apart by content", () => {
  const a = new Uint8Array([1, 2, 3]);
  assertEquals(objectDigest(a), objectDigest(Uint8Array.from(a)));
  assert(objectDigest(a) !== objectDigest(new Uint8Array([1, 2, 4])));
  assert(objectDigest(new Uint8Array(0)) !== objectDigest(new Uint8Array(1)));
});

Deno.test({
  name: "compile() leaves a minimal CO-RE BTF that a load uses to read the right offsets",
  // Compiling needs clang/bpftool (set-up installs them); loading needs root.
  ignore: NOT_ROOT,
  async fn() {
    const cacheDir = await Deno.makeTempDir({ prefix: "bpfsh-core-btf-" });
    try {
      const src = `${ROOT}/scripts/demo.bpf.c`;
      const { objectPath } = await compile(src, { cacheDir });
      const custom = coreBtfFor(Deno.readFileSync(objectPath), cacheDir);
      assert(custom, "a minimal BTF was made next to the object");
      const size = Deno.statSync(custom).size;
      assert(size > 0 && size < 64 * 1024, `minimal BTF is small (${size} bytes)`);

      using obj = await BpfObject.open(src, { cacheDir });
      obj.load();
      obj.attachAll();
      using events = obj.ringbuf<{ pid: number; ppid: number; comm: string }>("events");
      const child = new Deno.Command("/bin/true").spawn();
      await child.status;
      let seen: { pid: number; ppid: number } | undefined;
      const until = Date.now() + 3000;
      while (!seen && Date.now() < until) {
        await events.poll(100, (ev) => {
          if (ev.pid === child.pid) seen = ev;
        });
      }
      assert(seen, "the exec of /bin/true was seen");
      assertEquals(seen.ppid, Deno.pid, "CO-RE read of real_parent->tgid through minimal BTF");
    } finally {
      await Deno.remove(cacheDir, { recursive: true });
    }
  },
});
