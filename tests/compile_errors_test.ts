/**
 * What a user sees when a compile fails: clang's first error with its source line and
 * caret (the later errors follow from it), not the tail of clang's log.
 */

import { assert, assertMatch } from "./assert.ts";
import { ROOT, withTempDir } from "./helpers.ts";

Deno.test("the shell shows clang's first error with its source line, not follow-on errors", async () => {
  await withTempDir("bpfsh-compile-", async (dir) => {
    const src = `${dir}/dup.bpf.c`;
    Deno.writeTextFileSync(
      src,
      [
        '#include "vmlinux.h"',
        "struct task_struct { int x; };",
        "int f(void) { struct task_struct t = {}; return t.a + t.b + t.c + t.d + t.e + t.f; }",
        "",
      ].join("\n"),
    );
    const out = await new Deno.Command(`${ROOT}/bpfsh`, {
      args: ["-c", `load ${src}`],
      env: { NO_COLOR: "1", BPFSH_HISTORY: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(!out.success, text);
    assertMatch(text, `${src}:2:8: error: redefinition of 'task_struct'`);
    assertMatch(text, "struct task_struct { int x; };");
    assertMatch(text, /^\s+\^/m);
    assertMatch(text, "error: load: compile: clang failed");
  });
});
