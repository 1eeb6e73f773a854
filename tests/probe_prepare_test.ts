/**
 * The probe compiler's own cache (probe/prepare.ts): a second run of a one-liner reads its
 * spec and object without the compiler or clang, the object still passes the compile
 * cache's checks (a changed object is refused, a missing one compiled again), an entry that
 * names anything but an object of the cache is ignored, and `onWaiting` tells when only
 * waiting on clang is left. Compiles only: no root needed.
 */

import { BpfError } from "../ffi/errors.ts";
import { clangRuns } from "../bpf/build/compile.ts";
import { prepare } from "../probe/prepare.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { NO_CLANG, withTempDir } from "./helpers.ts";

const PROGRAM = "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } BEGIN { exit(); }";
const withTemp = (fn: (dir: string) => Promise<void>) => withTempDir("bpfsh-prepare-", fn);

/** The one spec entry a cache directory holds. */
function entryPath(dir: string): string {
  const names = [...Deno.readDirSync(`${dir}/probe`)].map((e) => e.name);
  assertEquals(names.length, 1, `spec entries: ${names}`);
  return `${dir}/probe/${names[0]}`;
}

Deno.test({
  name: "prepare: a second run reads spec and object from the cache, no compiler or clang",
  ignore: NO_CLANG,
  fn: () =>
    withTemp(async (dir) => {
      let waits = 0;
      const clang0 = clangRuns();
      const first = await prepare(PROGRAM, { cacheDir: dir, onWaiting: () => waits++ });
      assertEquals(first.cached, false);
      assertEquals(clangRuns(), clang0 + 1);
      assert(waits >= 1, "onWaiting was not called on a miss");
      const entry = JSON.parse(Deno.readTextFileSync(entryPath(dir)));
      assertEquals(`${dir}/${entry.object}`, first.objectPath);

      waits = 0;
      const second = await prepare(PROGRAM, { cacheDir: dir, onWaiting: () => waits++ });
      assertEquals(second.cached, true);
      assertEquals(clangRuns(), clang0 + 1);
      assertEquals(waits, 1);
      assertEquals(second.objectPath, first.objectPath);
      assertEquals(JSON.stringify(second.spec), JSON.stringify(first.spec));
    }),
});

Deno.test({
  name: "prepare: the cached object passes the compile cache's checks",
  ignore: NO_CLANG,
  fn: () =>
    withTemp(async (dir) => {
      const first = await prepare(PROGRAM, { cacheDir: dir });
      const bytes = Deno.readFileSync(first.objectPath);

      // Missing: compiled again (same source, same place), the entry still right.
      Deno.removeSync(first.objectPath);
      const clang0 = clangRuns();
      const again = await prepare(PROGRAM, { cacheDir: dir });
      assertEquals(again.cached, false);
      assertEquals(clangRuns(), clang0 + 1);
      assertEquals(again.objectPath, first.objectPath);
      assertEquals(Deno.readFileSync(again.objectPath).length, bytes.length);

      // Changed: refused, as a compile cache hit refuses it.
      const changed = Uint8Array.from(bytes);
      changed[changed.length - 1] ^= 0xff;
      Deno.writeFileSync(first.objectPath, changed, { mode: 0o600 });
      const e = await prepare(PROGRAM, { cacheDir: dir }).then(() => undefined, (e) => e);
      assert(e instanceof BpfError, `expected a BpfError, got ${e}`);
      assertEquals(e.op, "compile cache");
      assertMatch(e.message, "digest differs");
    }),
});

Deno.test({
  name: "prepare: an entry naming anything but a cache object is ignored",
  ignore: NO_CLANG,
  fn: () =>
    withTemp(async (dir) => {
      await prepare(PROGRAM, { cacheDir: dir });
      const path = entryPath(dir);
      const entry = JSON.parse(Deno.readTextFileSync(path));
      Deno.writeFileSync(`${dir}/elsewhere.o`, new Uint8Array(64), { mode: 0o600 });
      for (const object of ["../elsewhere.o", "elsewhere.o", 7]) {
        Deno.writeTextFileSync(path, JSON.stringify({ ...entry, object }), { mode: 0o600 });
        const p = await prepare(PROGRAM, { cacheDir: dir });
        assertEquals(p.cached, false, `object ${object}`);
        assertEquals(p.objectPath, `${dir}/${entry.object}`);
      }
    }),
});

Deno.test({
  name: "prepare: tracepoint wildcards are cached (keyed by the kernel's tracepoints), uprobes not",
  ignore: NO_CLANG,
  fn: () =>
    withTemp(async (dir) => {
      const globbed = "tracepoint:syscalls:sys_enter_open* { @[probe] = count(); }";
      assertEquals((await prepare(globbed, { cacheDir: dir })).cached, false);
      const again = await prepare(globbed, { cacheDir: dir });
      assertEquals(again.cached, true);
      assert(again.spec.programs.some((p) => p.attach.length > 1), "one program, many targets");

      const uprobe = "uprobe:/bin/sh:main { @ = count(); }";
      assertEquals((await prepare(uprobe, { cacheDir: dir })).cached, false);
      assertEquals((await prepare(uprobe, { cacheDir: dir })).cached, false);
    }),
});
