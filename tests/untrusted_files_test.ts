/**
 * Files that never end: a FIFO or a link to /dev/zero as a source, an include of
 * /dev/zero, /dev/null or a FIFO as an object. Each fails at once with what the file is
 * (never "is a directory", never a hang or an unbounded read), and clang itself is bounded:
 * killed after its time limit or when the caller aborts.
 */

import { BpfError } from "../ffi/errors.ts";
import { compile } from "../bpf/build/compile.ts";
import { readRegularFile } from "../bpf/build/bounded_read.ts";
import { BpfObject } from "../bpf/object/object.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { withTempDir } from "./helpers.ts";

/** A temporary directory with a FIFO, a link to /dev/zero and sources using them. */
async function withFiles(fn: (dir: string) => Promise<void> | void): Promise<void> {
  await withTempDir("bpfsh-files-", async (dir) => {
    const mk = await new Deno.Command("mkfifo", { args: [`${dir}/fifo.bpf.c`] }).output();
    assert(mk.success, "mkfifo failed");
    Deno.symlinkSync("/dev/zero", `${dir}/zero.bpf.c`);
    Deno.writeTextFileSync(`${dir}/inc_zero.bpf.c`, '#include "/dev/zero"\nint x;\n');
    Deno.writeTextFileSync(`${dir}/inc_fifo.bpf.c`, "#include <" + `${dir}/fifo.bpf.c>\nint x;\n`);
    // Through a macro: only clang itself sees this include.
    Deno.writeTextFileSync(
      `${dir}/macro_fifo.bpf.c`,
      `#define F "${dir}/fifo.bpf.c"\n#include F\nint x;\n`,
    );
    await fn(dir);
  });
}

/** Fail if a promise takes longer than `ms`: the bug is a hang, so a test must not hang. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** The BpfError a call fails with. */
async function failure(p: Promise<unknown>): Promise<BpfError> {
  const e = await p.then(() => undefined, (e) => e);
  assert(e instanceof BpfError, `expected a BpfError, got ${e}`);
  return e;
}

Deno.test("a FIFO, a link to /dev/zero and an include of either are refused at once", async () => {
  await withFiles(async (dir) => {
    const cacheDir = `${dir}/cache`;
    const cases: [string, string][] = [
      ["fifo.bpf.c", `source '${dir}/fifo.bpf.c' is a FIFO, not a regular file`],
      ["zero.bpf.c", `source '${dir}/zero.bpf.c' is a character device, not a regular file`],
      ["inc_zero.bpf.c", "included file '/dev/zero' is a character device"],
      ["inc_fifo.bpf.c", `included file '${dir}/fifo.bpf.c' is a FIFO`],
    ];
    for (const [file, message] of cases) {
      const e = await within(5000, failure(compile(`${dir}/${file}`, { cacheDir })));
      assertMatch(e.message, message);
    }
  });
});

Deno.test("clang is killed at its time limit and when the caller aborts", async () => {
  await withFiles(async (dir) => {
    const cacheDir = `${dir}/cache`;
    const source = `${dir}/macro_fifo.bpf.c`;
    const timedOut = await within(10_000, failure(compile(source, { cacheDir, timeoutMs: 1000 })));
    assertEquals(timedOut.code, "ETIMEDOUT");
    assertMatch(timedOut.message, "clang ran longer than 1 s and was killed");
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const aborted = await within(
      10_000,
      failure(BpfObject.open(source, { cacheDir, signal: stop.signal })),
    );
    assertEquals(aborted.code, "EINTR");
  });
});

Deno.test("/dev/null and a FIFO as an object say what they are, not EISDIR", async () => {
  await withFiles((dir) => {
    const devnull = assertThrows(() => BpfObject.openSync("/dev/null"), BpfError);
    assertMatch(devnull.message, "open '/dev/null': is a character device, not a regular file");
    assert(devnull.code !== "EISDIR", devnull.message);
    const fifo = `${dir}/fifo.bpf.c`;
    Deno.renameSync(fifo, `${dir}/fifo.o`);
    const e = assertThrows(() => BpfObject.openSync(`${dir}/fifo.o`), BpfError);
    assertMatch(e.message, "is a FIFO, not a regular file");
    const d = assertThrows(() => BpfObject.openSync(dir), BpfError);
    assertEquals(d.code, "EISDIR");
  });
});

Deno.test("a file larger than its limit is refused without reading it all", async () => {
  await withFiles(async (dir) => {
    const big = `${dir}/big.bin`;
    const f = Deno.openSync(big, { write: true, create: true });
    f.truncateSync(64 << 20); // sparse: no disk, no memory
    f.close();
    const t0 = performance.now();
    const e = await failure(readRegularFile(big, { op: "read", what: "file", limit: 1 << 20 }));
    assertMatch(e.message, "is larger than 1 MiB");
    assert(performance.now() - t0 < 2000, "took too long");
  });
});
