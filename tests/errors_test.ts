// BpfError formatting (no kernel needed).
import { BpfError, errnoName, logTail } from "../ffi/errors.ts";
import { assertEquals, assertMatch } from "./assert.ts";

Deno.test("BpfError names the operation, the errno symbolically and in words", () => {
  const e = new BpfError({ op: "map update 'counts'", errno: 7, message: "key 1" });
  assertEquals(e.code, "E2BIG");
  assertEquals(e.errno, 7);
  assertEquals(
    e.message.split("\n")[0],
    "map update 'counts': key 1: argument list too long (E2BIG)",
  );
  assertEquals(errnoName(-4013), "LIBBPF_ERRNO__VERIFY");
});

Deno.test("BpfError shows the log's last lines and keeps all of it in .log", () => {
  const log = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
  const e = new BpfError({ op: "load", errno: 13, log, hint: "read the log" });
  assertMatch(e.message, "(28 lines omitted)");
  assertMatch(e.message, "line 39");
  assertEquals(e.message.includes("line 5\n"), false);
  assertEquals(e.log, log);
  assertEquals(e.summary, "load: permission denied (EACCES) (hint: read the log)");
  assertEquals(logTail("a\nb\nc", 2), "(1 lines omitted)\nb\nc");
  const quiet = new BpfError({ op: "compile", message: "x.c:1:2: error", log, showLog: false });
  assertEquals(quiet.message, "compile: x.c:1:2: error");
});
