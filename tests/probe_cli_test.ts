// The probe language's command line: bpftrace's options, read by the one argument parser
// (shell/args.ts) that the shell's commands and the scripts use, and told from the shell's own
// command lines before anything else loads.

import { assertEquals, assertThrows } from "./assert.ts";
import { parseProbeArgs } from "../probe/cli.ts";
import { isProbeCommandLine } from "../probe/argv.ts";

Deno.test("parseProbeArgs() reads bpftrace's options, a program file and positional parameters", () => {
  const base = { verbose: false, json: false, emitC: false, help: false };
  assertEquals(parseProbeArgs(["-e", "BEGIN { exit(); }", "hello", "-3"]), {
    ...base,
    program: "BEGIN { exit(); }",
    params: ["hello", "-3"],
  });
  assertEquals(parseProbeArgs(["-f", "json", "-e", "BEGIN {}"]).json, true);
  assertEquals(parseProbeArgs(["--json", "--emit-c", "-e", "BEGIN {}"]).emitC, true);
  assertEquals(parseProbeArgs(["run", "x.bt", "5"]), { ...base, file: "x.bt", params: ["5"] });
  assertEquals(parseProbeArgs(["-lv", "tracepoint:sched:*"]), {
    ...base,
    verbose: true,
    list: "tracepoint:sched:*",
    params: [],
  });
  assertEquals(parseProbeArgs(["-l"]).list, "");
  assertThrows(() => parseProbeArgs(["-e"]), Error, "needs a value");
  assertThrows(() => parseProbeArgs(["-x", "-e", "BEGIN {}"]), Error, "unknown option '-x'");
  assertThrows(() => parseProbeArgs(["-f", "yaml", "-e", "BEGIN {}"]), Error, "format 'yaml'");
});

Deno.test("isProbeCommandLine() tells probe-language command lines from the shell's", () => {
  for (const argv of [["-e", "BEGIN {}"], ["-f", "json", "-e", "BEGIN {}"], ["-lv"], ["x.bt"]]) {
    assertEquals(isProbeCommandLine(argv), true, argv.join(" "));
  }
  for (const argv of [["run", "x.ts"], ["-c", "maps"], ["doctor"], ["--json", "maps"], []]) {
    assertEquals(isProbeCommandLine(argv), false, argv.join(" "));
  }
});
