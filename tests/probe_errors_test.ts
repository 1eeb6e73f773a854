/**
 * Bad probe programs: malformed, outside the subset, naming what does not exist, or
 * rejected by the kernel. Each must fail with a clear error naming the construct (a
 * ProbeError with line:column where it has a place), never crash or hang, and leave
 * nothing loaded.
 */

import { assert, assertMatch } from "./assert.ts";
import { bpfTest } from "./helpers.ts";
import { ProbeProgram } from "../probe/runner.ts";
import { ProbeError } from "../probe/diagnostic.ts";
import { BpfError } from "../ffi/errors.ts";
import { kprobesAvailable } from "../bpf/system/kernel_limits.ts";

/** [program, what the error must say, positional parameters]. */
const BAD: [string, string | RegExp, string[]?][] = [
  // Syntax.
  ["BEGIN { @x = 1 + ; }", "syntax error, unexpected ';'"],
  ['BEGIN { printf("x); }', "unterminated string"],
  ["BEGIN {", "unexpected end of file, expected }"],
  ["BEGIN", "unexpected end of file, expected {"],
  ["/* BEGIN { }", "end of file during comment"],
  ['BEGIN { @x = "\\q"; }', "invalid escape character '\\q'"],
  ["BEGIN { @x = 99999999999999999999999; }", "out of range"],
  ["BEGIN { @x = 1; } }", "expected a probe"],
  ["BEGIN { $ = 1; }", "a variable needs a name"],
  ["BEGIN { @x = 1a; }", "invalid integer '1a'"],
  ["BEGIN { @x[] = 1; }", "empty map key"],
  ["BEGIN { if 1 { } }", "expecting '('"],
  ["BEGIN { else { } }", "'else' without 'if'"],
  ["#define X 1\nBEGIN { }", "preprocessor"],
  ["BEGIN { 1 = @x; }", "only maps (@name) and variables ($name) can be assigned to"],
  ["BEGIN { @x = 1 ? 2; }", "expecting ':'"],
  ["BEGIN { @x = ; }", "expecting an expression"],
  ["BEGIN /1 { }", "expecting '/' closing the predicate"],
  ["BEGIN { @x = 1 @y = 2; }", "expecting ; or }"],
  ["{ }", "expected a probe"],
  // Outside the subset.
  ["BEGIN { while (1) { } }", "'while' is not supported"],
  ["BEGIN { unroll(3) { } }", "'unroll' is not supported"],
  ["BEGIN { for ($k : @m) { } }", "'for' is not supported"],
  ["BEGIN { return; }", "'return' is not supported"],
  ['BEGIN { $t = (1, "a"); }', "tuples are not supported"],
  ["BEGIN { @x = (struct sk_buff *)arg0; }", "struct definitions and casts are not supported"],
  ["BEGIN { @x = *arg0; }", "pointer dereference"],
  ['BEGIN { system("ls"); }', "function 'system' is not supported"],
  ["BEGIN { @x = ksym(0); }", "function 'ksym' is not supported"],
  ["BEGIN { @x = curtask; }", "builtin 'curtask' is not supported"],
  ["usdt:/bin/bash:probe { }", "'usdt' probes are not supported"],
  ["software:cpu-clock:1 { }", "'software' probes are not supported"],
  ["hardware:cycles:100 { }", "'hardware' probes are not supported"],
  ["watchpoint:0x1000:8:rw { }", "'watchpoint' probes are not supported"],
  ["iter:task { }", "'iter' probes are not supported"],
  ["BEGIN { @x = (uint32 *)5; }", "pointer casts are not supported"],
  // Names that do not exist.
  [
    "tracepoint:syscalls:sys_enter_opennat { }",
    /unknown tracepoint[^]*did you mean tracepoint:syscalls:sys_enter_openat/,
  ],
  ["tracepoint:nosuchcategory:* { }", "no tracepoint matches"],
  [
    "tracepoint:syscalls:sys_enter_openat { @x = args->nofield; }",
    /has no field 'nofield'[^]*filename/,
  ],
  ["uprobe:/nonexistent/bin:main { }", "binary '/nonexistent/bin' not found"],
  ["uprobe:/bin/bash:no_such_function_here { }", "has no function 'no_such_function_here'"],
  ["rawtracepoint:no_such_tracepoint { }", "unknown raw tracepoint"],
  ["BEGIN { @x = nope; }", "unknown identifier 'nope'"],
  ["BEGIN { nope(); }", "Unknown function: nope"],
  ["BEGIN { @x = $y; }", "Undefined or undeclared variable: $y"],
  ["END { @x = @undefined; }", "Undefined map: @undefined"],
  ["interval:min:1 { }", "UNIT one of"],
  ["profile:hz:0 { }", "must be a positive integer"],
  ["tracepoint:syscalls { }", "tracepoint:CATEGORY:NAME"],
  ["nope:x { }", "unknown probe type 'nope'"],
  // Types.
  ["BEGIN { @x = count(); @x = 5; }", "Type mismatch for @x"],
  ['BEGIN { @x[1] = 1; @x["a"] = 2; }', "Argument mismatch for @x"],
  ['BEGIN { printf("%d\\n", "str"); }', "%d specifier expects a value of type integer"],
  ['BEGIN { printf("%s\\n", 5); }', "%s specifier expects a value of type string"],
  ['BEGIN { printf("%d %d\\n", 1); }', "Not enough arguments"],
  ['BEGIN { printf("%d\\n", 1, 2); }', "Too many arguments"],
  ['BEGIN { printf("%q\\n", 1); }', "Unknown format string token: %q"],
  ["BEGIN { printf(5); }", "requires a string literal"],
  ["BEGIN { @x = lhist(1, 0, 10, 0); }", "step must be >= 1"],
  ["BEGIN { @x = lhist(1, 10, 0, 1); }", "min must be less than max"],
  ["BEGIN { @x = lhist(1, 0, 100000, 1); }", "too many buckets"],
  ["BEGIN { @x = lhist(1, 0, 10); }", "lhist() requires 4 arguments"],
  ['BEGIN { @x = hist("s"); }', "hist() expects an integer argument"],
  ["BEGIN { @x = sum(); }", "sum() requires 1 argument"],
  ["BEGIN { count(); }", "count() should be directly assigned to a map"],
  ["BEGIN { $x = count(); }", "should be assigned to a map, not a variable"],
  ["BEGIN { @x = comm + 1; }", "Type mismatch for '+'"],
  ['BEGIN { @x = comm < "a"; }', "The < operator can not be used"],
  ['BEGIN { $x = 1; $x = "s"; }', "Type mismatch for $x"],
  ["BEGIN { @c = count(); @y = @c; }", "reading a count() map"],
  ["BEGIN { @x = str(5, -1); }", "negative length"],
  ["BEGIN { @x = (foo)5; }", "cannot cast to 'foo'"],
  ["BEGIN { @x = $1; }", '$1 used numerically but given "abc"', ["abc"]],
  ["BEGIN { @h = hist(1); delete(@h); }", "delete() of a hist() map entry"],
  ["BEGIN { print(5, 1); }", "Non-map print() only takes 1 argument, 2 found"],
  ["BEGIN { clear(5); }", "clear() expects a map"],
  ["BEGIN { @x = kstack(perf, 2000); }", "limit shouldn't exceed 1024, 2000 given"],
  ["BEGIN { @x = ustack(raw); }", "Unknown identifier: 'raw'"],
  ["BEGIN { exit(1); }", "exit() takes no arguments"],
  ["BEGIN { @x = retval; }", "retval builtin can only be used"],
  ["tracepoint:syscalls:sys_enter_openat { @x = arg0; }", "arg0 builtin can only be used"],
  ["BEGIN { @x = func; }", "func builtin can not be used with 'BEGIN'"],
  ["BEGIN { @x = args->x; }", "args builtin can only be used with tracepoint"],
  ["BEGIN { @x = lhist(1, 0, 10, 1); @x = lhist(1, 0, 20, 1); }", "Different lhist bounds"],
  ["tracepoint:syscalls:sys_enter_openat { @x = args->filename[0]; }", "not an array"],
  // The kernel refuses it (it must be unloaded cleanly).
  [
    "tracepoint:syscalls:sys_enter_openat { @x[str(args->filename), str(args->filename, 62), " +
    "str(args->filename, 61), str(args->filename, 60), str(args->filename, 59), str(args->filename, 58), " +
    "str(args->filename, 57), str(args->filename, 56), str(args->filename, 55)] = count(); }",
    "needs more than the 512 bytes of stack",
  ],
];

bpfTest(
  "bad programs fail with a clear error naming the construct, leaving nothing loaded",
  async () => {
    const cases = [...BAD];
    if (!kprobesAvailable()) {
      cases.push([
        "kprobe:do_nanosleep { @x = count(); }",
        "kprobe probes are not available on this kernel",
      ]);
      cases.push([
        "kretprobe:__x64_sys_openat { @x = count(); }",
        /not available[^]*tracepoint:syscalls:sys_enter_openat/,
      ]);
    }
    assert(cases.length >= 50, `only ${cases.length} cases`);
    const failures: string[] = [];
    for (const [text, want, params] of cases) {
      try {
        const p = await ProbeProgram.start(text, { params });
        await p.close();
        failures.push(`accepted: ${text}`);
      } catch (e) {
        if (!(e instanceof BpfError)) {
          failures.push(`not a BpfError for ${text}: ${e}`);
          continue;
        }
        const shown = e instanceof ProbeError ? e.diagnostic : e.message;
        try {
          assertMatch(shown, want);
        } catch {
          failures.push(`for ${text}\nwanted ${want}\ngot ${shown}`);
        }
      }
    }
    assert(failures.length === 0, failures.join("\n\n"));
  },
);

bpfTest(
  "kfunc probes: loaded where the kernel allows fentry, else refused naming the alternative",
  async () => {
    try {
      const p = await ProbeProgram.start("kfunc:vfs_read { @x = count(); }");
      // This kernel allows fentry: it must then work.
      await p.close();
    } catch (e) {
      assert(e instanceof ProbeError, `${e}`);
      assertMatch(e.diagnostic, /refused by this kernel[^]*tracepoint/);
    }
  },
);
