/**
 * Kernel symbols: hand-written kallsyms files (modules, BPF programs, aliases, hidden
 * addresses, out-of-order lines) and, as root, the running kernel's /proc/kallsyms.
 */

import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { NOT_ROOT } from "./helpers.ts";
import { isKernelAddress, KernelSymbols, ksym } from "../bpf/stack/kallsyms.ts";
import { formatFrame } from "../bpf/stack/frame.ts";
import { BpfError } from "../ffi/errors.ts";

function table(text: string): KernelSymbols {
  const path = Deno.makeTempFileSync({ suffix: ".kallsyms" });
  try {
    Deno.writeTextFileSync(path, text);
    return KernelSymbols.load(path);
  } finally {
    Deno.removeSync(path);
  }
}

const SAMPLE = [
  "0000000000000000 A fixed_percpu_data",
  "ffffffff81000000 T _stext",
  "ffffffff81000000 T _text",
  "ffffffff81001000 t helper_local",
  "ffffffff81002000 T do_syscall_64",
  "ffffffff81002000 T do_syscall_64_alias",
  "ffffffff81002400 W weak_fn",
  "ffffffff81003000 D some_data",
  "ffffffff81004000 T last_text",
  "ffffffffc0100000 t nft_do_chain\t[nf_tables]",
  "ffffffffc0100200 T nft_register\t[nf_tables]",
  "ffffffffc0001500 t bpf_prog_6deef7357e7b4530_on_exec\t[bpf]",
  "",
].join("\n");

Deno.test("KernelSymbols keeps code symbols only, sorted, with symbol+offset", () => {
  const k = table(SAMPLE);
  assertEquals(k.hidden, false);
  assertEquals(k.size, 10); // not the absolute or the data symbol
  assertEquals(k.lookup(0xffffffff81002010n)?.name, "do_syscall_64");
  assertEquals(formatFrame(k.frame(0xffffffff810021fan)), "do_syscall_64+506");
  assertEquals(formatFrame(k.frame(0xffffffff81001004n)), "helper_local+4");
  assertEquals(formatFrame(k.frame(0xffffffff81002400n)), "weak_fn");
  // The data symbol is not a boundary: its address still belongs to the text before it.
  assertEquals(k.lookup(0xffffffff81003008n)?.name, "weak_fn");
  assertEquals(k.lookup(0xffffffff81000000n)?.name, "_stext", "the first of equal addresses");
});

Deno.test("KernelSymbols names modules and BPF programs, even out of order", () => {
  const k = table(SAMPLE);
  const f = k.frame(0xffffffffc0100010n);
  assertEquals([f.symbol, f.offset, f.module], ["nft_do_chain", 16, "[nf_tables]"]);
  const bpf = k.frame(0xffffffffc000152an);
  assertEquals(bpf.symbol, "bpf_prog_6deef7357e7b4530_on_exec");
  assertEquals(bpf.module, "[bpf]");
  assertEquals(
    formatFrame(bpf, "perf"),
    "ffffffffc000152a bpf_prog_6deef7357e7b4530_on_exec+42 ([bpf])",
  );
});

Deno.test("KernelSymbols.frame() of a return address looks up the byte before it", () => {
  const k = table(SAMPLE);
  // A call that is the last instruction of helper_local returns to do_syscall_64's start.
  const f = k.frame(0xffffffff81002000n, true);
  assertEquals([f.symbol, f.offset], ["helper_local", 0x1000]);
  assertEquals(k.frame(0xffffffff81002000n).symbol, "do_syscall_64");
});

Deno.test("KernelSymbols says why an address has no symbol", () => {
  const k = table(SAMPLE);
  assertEquals(k.lookup(0xffffffff80000000n), undefined);
  assertMatch(
    formatFrame(k.frame(0xffffffff80000000n)),
    /^0xffffffff80000000 \[unknown: no kernel/,
  );
  // Far past a module's last symbol: not that symbol.
  assertEquals(k.lookup(0xffffffffc0900000n), undefined);
});

Deno.test("KernelSymbols reports addresses hidden by kptr_restrict", () => {
  const k = table("0000000000000000 T _stext\n0000000000000000 t foo\t[bar]\n");
  assertEquals([k.hidden, k.size], [true, 0]);
  assertMatch(k.frame(0xffffffff81000000n).unknown ?? "", /hidden.*kptr_restrict/);
});

Deno.test("KernelSymbols.load() of a missing file is a BpfError", () => {
  const e = assertThrows(() => KernelSymbols.load("/nonexistent/kallsyms"), BpfError);
  assertEquals(e.op, "kallsyms");
});

Deno.test("isKernelAddress() splits the address space in halves", () => {
  assert(isKernelAddress(0xffffffff81000000n));
  assert(!isKernelAddress(0x7fffffffe000n));
});

Deno.test({
  name: "KernelSymbols.shared() reads /proc/kallsyms: do_syscall_64 and ksym()",
  ignore: NOT_ROOT,
  fn() {
    const k = KernelSymbols.shared();
    assert(!k.hidden, "root sees kernel addresses");
    assert(k.size > 10000, `${k.size} symbols`);
    const line = Deno.readTextFileSync("/proc/kallsyms").split("\n")
      .find((l) => / T do_syscall_64$/.test(l));
    assert(line, "do_syscall_64 is in kallsyms");
    const addr = BigInt(`0x${line.split(" ")[0]}`);
    assertEquals(formatFrame(k.frame(addr + 42n)), "do_syscall_64+42");
    assertEquals(ksym(addr + 1n), "do_syscall_64");
    assertEquals(ksym(`0x${(addr + 1n).toString(16)}`), "do_syscall_64");
    assert(KernelSymbols.shared() === k, "read once");
  },
});
