// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
/**
 * trace_pipe: line parsing (pure), and on the real kernel a bpf_printk line from the
 * fixture's `say` program, a break that releases the file, and close() during a wait.
 *
 * Other processes may read the pipe at the same time (it is consuming), so the printk is
 * repeated with a unique nonce until this reader sees it.
 */

import { BpfObject } from "../bpf/object/object.ts";
import { parseTraceLine, type TraceLine, tracePipe } from "../bpf/events/tracepipe.ts";
import { assert, assertEquals } from "./assert.ts";
import { bpfTest, closeWhileWaiting, fixture } from "./helpers.ts";

Deno.test("parseTraceLine() reads task, pid, cpu, flags, timestamp, event and message", () => {
  const raw = "            deno-14003   [001] ...2.  1120.520218: bpf_trace_printk: a: b c";
  assertEquals(parseTraceLine(raw), {
    task: "deno",
    pid: 14003,
    cpu: 1,
    flags: "...2.",
    timestamp: 1120.520218,
    event: "bpf_trace_printk",
    message: "a: b c",
    raw,
  });
});

Deno.test("parseTraceLine() handles dashes and spaces in task names, tgid and no flags", () => {
  const a = parseTraceLine(
    "  kworker/u4:1-my task-77     [000] d..31    5.000001: sched_switch: x=1",
  );
  assertEquals([a?.task, a?.pid, a?.cpu, a?.flags, a?.event], [
    "kworker/u4:1-my task",
    77,
    0,
    "d..31",
    "sched_switch",
  ]);
  const b = parseTraceLine(
    "           <idle>-0       (-------) [003] ..s1.    99.5: bpf_trace_printk: hi",
  );
  assertEquals([b?.task, b?.pid, b?.tgid, b?.cpu, b?.message], ["<idle>", 0, undefined, 3, "hi"]);
  const c = parseTraceLine(
    "            bash-1977    (   1977) [001]  1234.567890: bpf_trace_printk: x",
  );
  assertEquals([c?.pid, c?.tgid, c?.flags, c?.timestamp], [1977, 1977, "", 1234.56789]);
  assertEquals(parseTraceLine("CPU:1 [LOST 3 EVENTS]"), undefined);
});

function fdCount(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/** Print `nonce` from the fixture every 100 ms until stopped. */
function printer(obj: BpfObject, nonce: bigint): () => void {
  const ctx = new Uint8Array(new BigUint64Array([nonce]).buffer);
  const say = () => obj.program("say").testRun({ ctx, repeat: 0 });
  say();
  const timer = setInterval(say, 100);
  return () => clearInterval(timer);
}

bpfTest("tracePipe() yields a bpf_printk line with its parsed fields", async () => {
  using obj = await BpfObject.open(fixture("events"));
  obj.load();
  const nonce = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000));
  const stop = printer(obj, nonce);
  let line: TraceLine | undefined;
  try {
    for await (
      const l of tracePipe({ filter: `nonce=${nonce} `, signal: AbortSignal.timeout(10000) })
    ) {
      line = l;
      break;
    }
  } finally {
    stop();
  }
  assert(line, "the printk line never came");
  assertEquals(line.message, `bpfsh-events nonce=${nonce} answer=42`);
  assertEquals(line.event, "bpf_trace_printk");
  // BPF_PROG_TEST_RUN runs the program in the calling thread: one of this process's.
  assert(
    [...Deno.readDirSync("/proc/self/task")].some((t) => Number(t.name) === line!.pid),
    `pid ${line.pid} is not a thread of this process`,
  );
  assert(line.task.length > 0, "no task name");
  assert(line.cpu >= 0 && line.cpu < navigator.hardwareConcurrency, `cpu ${line.cpu}`);
  assert(line.timestamp > 0, `timestamp ${line.timestamp}`);
  assert(line.raw.includes(line.message), "raw line lost");
});

bpfTest("Breaking out of tracePipe() releases the file and a new reader starts", async () => {
  using obj = await BpfObject.open(fixture("events"));
  obj.load();
  const before = fdCount();
  for (let round = 0; round < 2; round++) {
    const nonce = BigInt(Date.now()) * 1000n + BigInt(round);
    const stop = printer(obj, nonce);
    try {
      const pipe = tracePipe({ filter: `nonce=${nonce} `, signal: AbortSignal.timeout(10000) });
      let got = 0;
      for await (const _ of pipe) {
        got++;
        break;
      }
      assertEquals(got, 1, `round ${round}`);
      assert(pipe.closed, "break did not close the pipe");
    } finally {
      stop();
    }
    await new Promise((r) => setTimeout(r, 20));
    assertEquals(fdCount(), before, `fds after round ${round}`);
  }
});

bpfTest("tracePipe().close() ends a loop that is waiting for a line", async () => {
  const before = fdCount();
  await using pipe = tracePipe({ filter: "a line no one ever prints 4e1c0f" });
  const { received, endedMs } = await closeWhileWaiting(pipe, 50);
  assertEquals(received, 0);
  assert(endedMs < 500, "the loop did not end promptly");
  await pipe[Symbol.asyncDispose]();
  assertEquals(fdCount(), before);
});
