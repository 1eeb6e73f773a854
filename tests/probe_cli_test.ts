// The probe language's command line: bpftrace's options, read by the one argument parser
// (shell/args.ts) that the shell's commands and the scripts use, and told from the shell's own
// command lines before anything else loads.

import { assertEquals, assertRejects } from "./assert.ts";
import { parseProbeArgs, parseProbeArgsFully, quickProbeArgs } from "../probe/cli.ts";
import { isProbeCommandLine } from "../probe/argv.ts";

Deno.test("parseProbeArgs() reads bpftrace's options, a program file and positional parameters", async () => {
  const base = { verbose: false, json: false, emitC: false, help: false };
  assertEquals(await parseProbeArgs(["-e", "BEGIN { exit(); }", "hello", "-3"]), {
    ...base,
    program: "BEGIN { exit(); }",
    params: ["hello", "-3"],
  });
  assertEquals((await parseProbeArgs(["-f", "json", "-e", "BEGIN {}"])).json, true);
  assertEquals((await parseProbeArgs(["--json", "--emit-c", "-e", "BEGIN {}"])).emitC, true);
  assertEquals(await parseProbeArgs(["run", "x.bt", "5"]), {
    ...base,
    file: "x.bt",
    params: ["5"],
  });
  assertEquals(await parseProbeArgs(["-lv", "tracepoint:sched:*"]), {
    ...base,
    verbose: true,
    list: "tracepoint:sched:*",
    params: [],
  });
  assertEquals((await parseProbeArgs(["-l"])).list, "");
  await assertRejects(() => parseProbeArgs(["-e"]), Error, "needs a value");
  await assertRejects(() => parseProbeArgs(["-x", "-e", "BEGIN {}"]), Error, "unknown option '-x'");
  await assertRejects(
    () => parseProbeArgs(["-f", "yaml", "-e", "BEGIN {}"]),
    Error,
    "format 'yaml'",
  );
});

Deno.test("isProbeCommandLine() tells probe-language command lines from the shell's", () => {
  for (const argv of [["-e", "BEGIN {}"], ["-f", "json", "-e", "BEGIN {}"], ["-lv"], ["x.bt"]]) {
    assertEquals(isProbeCommandLine(argv), true, argv.join(" "));
  }
  for (const argv of [["run", "x.ts"], ["-c", "maps"], ["doctor"], ["--json", "maps"], []]) {
    assertEquals(isProbeCommandLine(argv), false, argv.join(" "));
  }
});

Deno.test("quickProbeArgs() reads `-e PROGRAM [PARAM...]` as the option parser does, and nothing else", async () => {
  for (
    const argv of [
      ["-e", "BEGIN { exit(); }"],
      ["-e", "BEGIN { exit(); }", "5", "x y"],
      ["-e", "BEGIN { exit(); }", "a.bt"],
      ["-e", "-"],
      ["--json", "-e", "BEGIN { exit(); }", "7"],
      ["-f", "json", "-e", "BEGIN { exit(); }"],
      ["-f", "text", "-e", "BEGIN { exit(); }"],
      ["-e", "BEGIN { exit(); }", "--json"],
      ["-e", "BEGIN { exit(); }", "5", "-f", "json", "6"],
      ["-e", "BEGIN { exit(); }", "5", "run"],
    ]
  ) {
    const quick = quickProbeArgs(argv);
    assertEquals(quick !== undefined, true, argv.join(" "));
    assertEquals(quick, await parseProbeArgsFully(argv), argv.join(" "));
  }
  for (
    const argv of [
      ["-e"],
      ["-e", "BEGIN {}", "-3"],
      ["-e", "BEGIN {}", "--json", "--json"],
      ["-e", "BEGIN {}", "-f", "json", "--json"],
      ["-e", "BEGIN {}", "-e", "BEGIN {}"],
      ["-e", "BEGIN {}", "run", "x.bt"],
      ["--json", "--json", "-e", "BEGIN {}"],
      ["-f", "yaml", "-e", "BEGIN {}"],
      ["-f", "-e", "BEGIN {}"],
      ["--json", "-e"],
      ["-v", "-e", "BEGIN {}"],
      ["-l"],
      ["x.bt"],
    ]
  ) {
    assertEquals(quickProbeArgs(argv), undefined, argv.join(" "));
  }
});
