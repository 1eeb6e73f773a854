/**
 * Lost events are told: DropReport's messages (at most one a second, then a summary), the
 * shell's `tail` on a ring buffer that was full, and a script's closing line.
 */

import { DropReport } from "../bpf/events/drops.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { bpfTest, fixture, ROOT } from "./helpers.ts";
import { DENO } from "./shell_tmux.ts";

Deno.test("DropReport says what was lost at once, then at most once per interval", () => {
  const lines: string[] = [];
  const drops = new DropReport((t) => lines.push(t), "output", 60_000);
  drops.onLost(3, 1);
  drops.onLost(4, 0); // within the interval: counted, said later
  assertEquals(lines, ["output: 3 samples lost (last on cpu 1)"]);
  assertEquals(drops.summary({ events: 10, lost: 7 }), "output: read 10 events, 7 samples lost");
  assertEquals(drops.summary({ events: 10, lost: 0 }), undefined);
  const ring = new DropReport((t) => lines.push(t), "events", 0);
  ring.onFull();
  ring.onFull();
  assertEquals(lines.slice(1), [
    "events: ring full once: events may have been dropped",
    "events: ring full once: events may have been dropped",
  ]);
  assertMatch(ring.summary({ events: 5, full: 2 }) ?? "", "the ring was full 2 times");
  assertEquals(ring.summary({ events: 5, full: 0 }), undefined);
});

bpfTest("tail says when the ring was full, as it reads and at the end", async () => {
  // The fixture's fill program overfills the one-page ring 'small' before tail reads it.
  const lines = [
    `load ${fixture("events")}`,
    "fill.testRun({ ctx: new Uint8Array(new BigUint64Array([1000n, 1n]).buffer), repeat: 0 })",
    "tail small --as fill_event --count 3 --timeout 1",
  ];
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", "--no-prompt", "shell/main.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1", BPFSH_HISTORY: "" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await w.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertMatch(text, "small: ring full once: events may have been dropped");
  assertMatch(text, "small: read 170 events; the ring was full once");
  assert(!/small: read .* samples lost/.test(text), text);
});
