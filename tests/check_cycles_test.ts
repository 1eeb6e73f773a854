// The import-cycle checker (tools/check_cycles.ts): pure logic over module texts and edges.
import { findCycles, importGraph, moduleImports } from "../tools/check_cycles.ts";
import { assertEquals } from "./assert.ts";

Deno.test("moduleImports() finds static, re-export and literal dynamic imports, not comments", () => {
  const src = [
    'import { a } from "./a.ts";',
    'import type { T } from "./t.ts";',
    'import { type U } from "./u.ts";',
    'import { type V, w } from "./vw.ts";',
    'export { x } from "../x.ts";',
    'export * from "./star.ts";',
    'import "npm:left-alone";',
    "/** ```ts",
    ' * import { nope } from "./in_a_comment.ts";',
    " * ``` */",
    'const m = await import("./lazy.ts");',
    "// import { also } from './not_this.ts';",
  ].join("\n");
  assertEquals(moduleImports(src).sort(), [
    "../x.ts",
    "./a.ts",
    "./lazy.ts",
    "./star.ts",
    "./t.ts",
    "./u.ts",
    "./vw.ts",
  ]);
  assertEquals(moduleImports(src, true).sort(), [
    "../x.ts",
    "./a.ts",
    "./lazy.ts",
    "./star.ts",
    "./vw.ts",
  ]);
});

Deno.test("findCycles() reports each cycle once, and self-imports, but not chains", () => {
  const e = (from: string, to: string) => ({ from, to });
  assertEquals(findCycles([e("a", "b"), e("b", "c")]), []);
  assertEquals(findCycles([e("a", "b"), e("b", "c"), e("c", "a"), e("c", "d")]), [[
    "a",
    "b",
    "c",
  ]]);
  assertEquals(findCycles([e("s", "s")]), [["s"]]);
  assertEquals(findCycles([e("a", "b"), e("b", "a"), e("x", "y"), e("y", "x")]).length, 2);
});

Deno.test("the repository has no import cycles", () => {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const dirs = ["bpf", "ffi", "shell", "probe", "serve", "scripts", "tools", "bench", "tests"];
  const edges = importGraph(root, dirs);
  assertEquals(edges.length > 500, true, "the walk found the tree's imports");
  assertEquals(findCycles(edges), []);
});
