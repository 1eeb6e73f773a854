/**
 * The compile cache trusts only what the current user made in directories no one else can
 * change: another user's cache (sudo -E keeps HOME), a planted vmlinux.h, an object swapped
 * with `mv -f`, a world-writable parent are each refused with an error naming the path, and
 * nothing is written into a cache that was refused. Needs root to play the other user.
 */

import { BpfError } from "../ffi/errors.ts";
import { compile } from "../bpf/build/compile.ts";
import { coreBtfFor } from "../bpf/build/core_btf.ts";
import { kernelKey } from "../bpf/build/vmlinux.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { NOT_ROOT, ROOT, withTempDir } from "./helpers.ts";

/** Someone else: the traditional unprivileged user. */
const OTHER = 65534;
const SOURCE = `${ROOT}/tests/fixtures/minimal.bpf.c`;

/** A fresh private directory for one test, removed after. */
const withTemp = (fn: (dir: string) => Promise<void>) => withTempDir("bpfsh-trust-", fn);

/** The error of a call that must fail. */
async function failure(p: Promise<unknown>): Promise<BpfError> {
  const e = await p.then(() => undefined, (e) => e);
  assert(e instanceof BpfError, `expected a BpfError, got ${e}`);
  return e;
}

/** Every path under a directory, with its owner. */
function owners(dir: string): [string, number][] {
  const out: [string, number][] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      out.push([p, Deno.lstatSync(p).uid!]);
      if (e.isDirectory) walk(p);
    }
  };
  walk(dir);
  return out;
}

Deno.test({
  name: "a new cache is private: directories 0700, entries 0600, an object with its digest",
  ignore: NOT_ROOT,
  async fn() {
    await withTemp(async (tmp) => {
      const cacheDir = `${tmp}/cache`;
      const r = await compile(SOURCE, { cacheDir });
      assertEquals(Deno.statSync(cacheDir).mode! & 0o777, 0o700);
      for (const [path] of owners(cacheDir)) {
        const st = Deno.statSync(path);
        assertEquals(st.mode! & 0o777, st.isDirectory ? 0o700 : 0o600, path);
      }
      assert(Deno.statSync(`${r.objectPath}.sha256`).isFile, "no digest beside the object");
      assertEquals(r.bytes, Deno.readFileSync(r.objectPath));
    });
  },
});

Deno.test({
  name: "another user's cache directory is refused and left untouched (sudo -E with HOME)",
  ignore: NOT_ROOT,
  async fn() {
    await withTemp(async (tmp) => {
      const home = `${tmp}/home`;
      Deno.mkdirSync(`${home}/.cache/bpfsh`, { recursive: true });
      for (const p of [home, `${home}/.cache`, `${home}/.cache/bpfsh`]) {
        Deno.chownSync(p, OTHER, OTHER);
      }
      const saved = { home: Deno.env.get("HOME"), cache: Deno.env.get("BPFSH_CACHE") };
      Deno.env.set("HOME", home);
      Deno.env.delete("BPFSH_CACHE");
      try {
        const e = await failure(compile(SOURCE));
        assertEquals(e.op, "compile cache");
        assertMatch(e.message, `'${home}/.cache/bpfsh' belongs to uid ${OTHER}`);
        assertMatch(e.hint ?? "", "BPFSH_CACHE");
        // Opening an object must not consult that cache either.
        BpfObject.openSync(`${ROOT}/build/tests/minimal.bpf.o`).close();
      } finally {
        if (saved.home === undefined) Deno.env.delete("HOME");
        else Deno.env.set("HOME", saved.home);
        if (saved.cache !== undefined) Deno.env.set("BPFSH_CACHE", saved.cache);
      }
      // Root wrote nothing there.
      assertEquals(owners(home).filter(([, uid]) => uid !== OTHER), []);
    });
  },
});

Deno.test({
  name: "a cache below a directory others can write is refused",
  ignore: NOT_ROOT,
  async fn() {
    await withTemp(async (tmp) => {
      Deno.mkdirSync(`${tmp}/shared`);
      Deno.chmodSync(`${tmp}/shared`, 0o777); // writable by all, not sticky
      const e = await failure(compile(SOURCE, { cacheDir: `${tmp}/shared/cache` }));
      assertMatch(e.message, `lies in '${tmp}/shared', which others can write`);
      const mine = `${tmp}/mine`;
      Deno.mkdirSync(mine, { mode: 0o775 });
      Deno.chmodSync(mine, 0o775);
      const e2 = await failure(compile(SOURCE, { cacheDir: mine }));
      assertMatch(e2.message, `'${mine}' can be written by others`);
    });
  },
});

Deno.test({
  name: "a planted vmlinux.h in the cache is refused, naming it",
  ignore: NOT_ROOT,
  async fn() {
    await withTemp(async (tmp) => {
      const cacheDir = `${tmp}/cache`;
      const dir = `${cacheDir}/vmlinux/${await kernelKey()}`;
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
      Deno.chmodSync(cacheDir, 0o700);
      Deno.writeTextFileSync(`${dir}/vmlinux.h`, "#error planted\n");
      Deno.chownSync(`${dir}/vmlinux.h`, OTHER, OTHER);
      const e = await failure(compile(SOURCE, { cacheDir }));
      assertMatch(e.message, `'${dir}/vmlinux.h' belongs to uid ${OTHER}`);
    });
  },
});

Deno.test({
  name: "an object swapped into the cache with mv -f is refused, not loaded",
  ignore: NOT_ROOT,
  async fn() {
    await withTemp(async (tmp) => {
      const cacheDir = `${tmp}/cache`;
      const first = await compile(SOURCE, { cacheDir });
      assertEquals(first.cached, false);
      // Another valid object, moved over the cached one (same owner, same mode).
      const other = `${tmp}/other.o`;
      Deno.copyFileSync(`${ROOT}/build/tests/exec_count.bpf.o`, other);
      Deno.chmodSync(other, 0o600);
      Deno.renameSync(other, first.objectPath);
      const e = await failure(BpfObject.open(SOURCE, { cacheDir }));
      assertEquals(e.op, "compile cache");
      assertMatch(e.message, `'${first.objectPath}' is not the object that was compiled`);
      // An entry of another owner is refused too.
      Deno.chownSync(first.objectPath, OTHER, OTHER);
      const e2 = await failure(compile(SOURCE, { cacheDir }));
      assertMatch(e2.message, `'${first.objectPath}' belongs to uid ${OTHER}`);
    });
  },
});

Deno.test({
  name: "a minimal CO-RE BTF of another owner is not given to libbpf",
  ignore: NOT_ROOT,
  async fn() {
    await withTemp(async (tmp) => {
      const cacheDir = `${tmp}/cache`;
      const r = await compile(SOURCE, { cacheDir });
      const custom = coreBtfFor(r.bytes, cacheDir);
      assert(custom, "no minimal CO-RE BTF was made");
      Deno.chownSync(custom, OTHER, OTHER);
      assertEquals(coreBtfFor(r.bytes, cacheDir), undefined);
    });
  },
});
