// The README's examples run as written: the first script, through the launcher as the README
// says to run it.
import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT, ROOT } from "./helpers.ts";

/** The README's fenced blocks of one language whose first line is `// FIRST_LINE`. */
function readmeBlock(firstLine: string): string {
  const text = Deno.readTextFileSync(`${ROOT}/README.md`);
  for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    if (m[1].startsWith(`// ${firstLine}\n`)) return m[1];
  }
  throw new Error(`README.md has no ts block starting with '// ${firstLine}'`);
}

Deno.test({
  name: "README: the first script runs as written with ./bpfsh run and counts an exec",
  ignore: NOT_ROOT,
  async fn() {
    const path = `${ROOT}/.readme-first-${Deno.pid}.ts`;
    await Deno.writeTextFile(path, readmeBlock("./bpfsh run first.ts"));
    try {
      const out = await new Deno.Command(`${ROOT}/bpfsh`, {
        args: ["run", path],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assert(/^uid 0: [1-9]\d* execs$/m.test(text), `an exec counted for root:\n${text}`);
    } finally {
      await Deno.remove(path);
    }
  },
});
