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

Deno.test({
  name:
    "README: the .bt file of From bpftrace counts the files a command opens, with its parameter",
  ignore: NOT_ROOT,
  async fn() {
    const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
    assert(readme.includes("./bpfsh examples/opens.bt "), "the README runs examples/opens.bt");
    // A copy of cat under a name of its own, opening a known file while the program runs.
    const dir = await Deno.makeTempDir({ prefix: "bpfsh-readme-" });
    const comm = `rdcat${Deno.pid % 100000}`;
    await Deno.copyFile("/bin/cat", `${dir}/${comm}`);
    await Deno.chmod(`${dir}/${comm}`, 0o755);
    await Deno.writeTextFile(`${dir}/known.txt`, "x\n");
    try {
      const trace = new Deno.Command(`${ROOT}/bpfsh`, {
        args: ["examples/opens.bt", comm],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const workload = (async () => {
        for (let i = 0; i < 12; i++) {
          await new Promise((r) => setTimeout(r, 200));
          await new Deno.Command(`${dir}/${comm}`, { args: [`${dir}/known.txt`], stdout: "null" })
            .output();
        }
      })();
      const [out] = await Promise.all([trace.output(), workload]);
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const m = new RegExp(`^@opens\\[${dir}/known.txt\\]: (\\d+)$`, "m").exec(text);
      assert(m && Number(m[1]) >= 1 && Number(m[1]) <= 12, `known.txt counted:\n${text}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
