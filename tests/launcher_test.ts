// The `bpfsh` launcher: finds the repository from wherever and however it is started.
import { assertEquals } from "./assert.ts";
import { ROOT } from "./helpers.ts";

/** Without a finished set-up the launcher would run it first: not in a test. */
const NOT_SET_UP = (() => {
  try {
    return !Deno.statSync(`${ROOT}/build/.setup-done`).isFile;
  } catch {
    return true;
  }
})();

async function version(cmd: string, cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args: ["-V"], cwd, stderr: "inherit" }).output();
  assertEquals(out.code, 0, `${cmd} -V in ${cwd}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "bpfsh starts from another directory, by a relative path and through symlinks",
  ignore: NOT_SET_UP,
  async fn() {
    const { VERSION } = await import("../shell/main.ts");
    const want = `bpfsh ${VERSION}`;
    const dir = await Deno.makeTempDir({ prefix: "bpfsh_launcher_" });
    try {
      assertEquals(await version(`${ROOT}/bpfsh`, dir), want);
      assertEquals(await version("./bpfsh", ROOT), want);
      assertEquals(await version("../bpfsh", `${ROOT}/tests`), want);
      // An absolute link (as in a PATH directory), then a relative link to that link.
      await Deno.symlink(`${ROOT}/bpfsh`, `${dir}/bpfsh`);
      await Deno.mkdir(`${dir}/sub`);
      await Deno.symlink("../bpfsh", `${dir}/sub/b`);
      assertEquals(await version(`${dir}/bpfsh`, "/"), want);
      assertEquals(await version("./b", `${dir}/sub`), want);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
