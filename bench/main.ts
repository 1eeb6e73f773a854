/**
 * Run every benchmark (`bench/*_bench.ts`) one after another, each in its own process so
 * one's memory does not weigh on the next. Each prints bpfsh beside its C baseline.
 *
 * @example
 * ```sh
 * deno task bench            # all
 * deno task bench map_iter   # only those whose name contains "map_iter"
 * ```
 *
 * @module
 */

const here = new URL(".", import.meta.url).pathname;
const filter = Deno.args[0] ?? "";
const benches = [...Deno.readDirSync(here)]
  .map((e) => e.name)
  .filter((n) => n.endsWith("_bench.ts") && n.includes(filter))
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n== ${name}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${here}${name}`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) failed++;
}
if (failed) Deno.exit(1);
