// What importing mod.ts loads: only the project's own modules. An npm package or a node:
// builtin in its static graph is loaded by every script at start-up (node:zlib alone cost
// milliseconds: bench/NOTES.md); such dependencies are imported on first use instead.
import { assertEquals } from "./assert.ts";
import { ROOT } from "./helpers.ts";

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
