/**
 * A bounded fuzz run over corrupt objects (fixed seed, 2,500 inputs, a few seconds): byte
 * flips, truncation, section and ELF headers, `.BTF`, `.BTF.ext`, relocations, map
 * definitions, the symbol table and program text, each opened, read and (as root) loaded in
 * a child process so a crash is counted, not fatal. The long run is
 * `deno run -A tools/fuzz_objects.ts` (100,000 inputs).
 */

import { fuzz } from "../tools/fuzz/driver.ts";
import { assert, assertEquals } from "./assert.ts";
import { NOT_ROOT } from "./helpers.ts";

Deno.test("2,500 corrupt objects: no crash, no hang, every failure a BpfError", async () => {
  const report = await fuzz({ seed: 20250601, count: 2500, load: !NOT_ROOT, nice: 5 });
  const findings = [...report.crashes, ...report.hangs, ...report.raw]
    .map((f) => `input ${f.index} (${f.strategy}, ${f.seed}): ${f.what}`);
  assertEquals(findings, []);
  assertEquals(report.inputs, 2500);
  // The run reached every stage: some inputs refused, some opened, some loaded.
  assert(report.outcomes.refused > 500, JSON.stringify(report.outcomes));
  assert(report.outcomes.opened + report.outcomes.loaded > 500, JSON.stringify(report.outcomes));
  if (!NOT_ROOT) assert(report.outcomes.loaded > 100, JSON.stringify(report.outcomes));
});
