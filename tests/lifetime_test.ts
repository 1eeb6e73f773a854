// @guest: runs on the guest lane's kernel too (tools/vmtest.sh)
// Nothing leaks when a process using bpfsh ends: SIGTERM, SIGINT or an uncaught error.
// Needs root; CI runs as root.
import { BpfObject, closeAll } from "../mod.ts";
import { assert, assertEquals } from "./assert.ts";
import { fixture, kernelProgIds, NOT_ROOT, OutputText, ROOT } from "./helpers.ts";

async function holdAndEnd(how: "SIGTERM" | "SIGINT" | "throw"): Promise<Deno.CommandStatus> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/tests/fixtures/hold.ts`, how === "throw" ? "throw" : "wait"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = new OutputText(child.stdout);
  await out.until("\n");
  const id = Number(/ready (\d+)/.exec(out.text)?.[1]);
  assert(id > 0, `child reported a program id: ${out.text}`);
  assert(kernelProgIds().has(id), "the program is loaded while the child runs");
  if (how !== "throw") child.kill(how);
  const status = await child.status;
  await out.close();
  for (let i = 0; i < 40 && kernelProgIds().has(id); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assertEquals(kernelProgIds().has(id), false, `program ${id} left loaded after ${how}`);
  return status;
}

Deno.test({
  name: "SIGTERM closes everything a script loaded and exits 143",
  ignore: NOT_ROOT,
  async fn() {
    const status = await holdAndEnd("SIGTERM");
    assertEquals(status.code, 143);
  },
});

Deno.test({
  name: "Ctrl-C (SIGINT) and an uncaught error leave no program loaded",
  ignore: NOT_ROOT,
  async fn() {
    await holdAndEnd("SIGINT");
    const status = await holdAndEnd("throw");
    assert(!status.success, "an uncaught error exits non-zero");
  },
});

Deno.test({
  name: "importing mod.ts leaves signal handling to the host",
  ignore: NOT_ROOT,
  async fn() {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}/tests/fixtures/hold.ts`, "own"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const out = new OutputText(child.stdout);
    await out.until("ready");
    child.kill("SIGTERM");
    await out.until("host handled SIGTERM");
    assert(out.text.includes("host handled SIGTERM"), `the host's handler ran: ${out.text}`);
    child.kill("SIGKILL");
    await child.status;
    await out.close();
  },
});

Deno.test({
  name: "closeAll() closes every object still open in this process",
  ignore: NOT_ROOT,
  async fn() {
    const a = await BpfObject.open(fixture("exec_count"));
    const b = await BpfObject.open(fixture("maps"));
    a.load();
    a.attachAll();
    assert(closeAll() >= 2);
    assert(a.closed && b.closed);
  },
});
