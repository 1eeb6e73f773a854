// ffi/lazy.ts: symbols bound on first use, alone or with their group.
import { assertEquals, assertThrows } from "./assert.ts";
import { openLazily } from "../ffi/lazy.ts";
import { BpfError } from "../ffi/errors.ts";

const SYMBOLS = {
  getpid: { parameters: [], result: "i32" },
  getppid: { parameters: [], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  no_such_symbol_bpfsh: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

Deno.test("openLazily() binds a group on the first use of any of its symbols", () => {
  const lib = openLazily("libc.so.6", SYMBOLS, "getuid", [["getpid", "getppid"]]);
  const bound = () =>
    Object.keys(SYMBOLS).filter((n) => !Object.getOwnPropertyDescriptor(lib, n)?.get);
  assertEquals(bound(), ["getuid"]);
  assertEquals(lib.getpid(), Deno.pid);
  assertEquals(bound(), ["getpid", "getppid", "getuid"]);
  assertEquals(lib.getppid(), Deno.ppid);
  assertEquals(lib.getuid(), Deno.uid());
});

Deno.test("openLazily() binds the others of a group with a missing symbol one by one", () => {
  const lib = openLazily("libc.so.6", SYMBOLS, "getuid", [[
    "getpid",
    "no_such_symbol_bpfsh",
    "getppid",
  ]]);
  assertEquals(lib.getpid(), Deno.pid);
  assertEquals(lib.getppid(), Deno.ppid);
  assertThrows(() => lib.no_such_symbol_bpfsh(), BpfError, "no symbol 'no_such_symbol_bpfsh'");
});
