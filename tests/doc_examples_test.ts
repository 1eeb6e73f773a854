// The public docs' examples run as written, one test each (tools/doc_examples.ts): each in its
// own process, two at a time, after one type check of them all. An example fenced `ts ignore`
// is type-checked and counted as ignored, with its reason in the test's name.
import { assert } from "./assert.ts";
import { NOT_ROOT } from "./helpers.ts";
import {
  type ExampleResult,
  IGNORE_PREFIX,
  prepareExamples,
  runExamples,
} from "../tools/doc_examples.ts";

const prepared = await prepareExamples();
let results: Promise<ExampleResult | undefined>[] | undefined;

/** Started by the first test that runs, so that loading this file alone costs nothing more. */
function resultOf(i: number): Promise<ExampleResult | undefined> {
  results ??= runExamples(prepared);
  return results[i];
}

Deno.test("doc examples: all of them type-check together", () => {
  assert(!prepared.checkFailure, prepared.checkFailure);
});

const seen = new Map<string, number>();
for (const [i, ex] of prepared.examples.entries()) {
  // Several examples of one symbol: numbered, so that each test's name is its own.
  const n = (seen.get(ex.symbol) ?? 0) + 1;
  seen.set(ex.symbol, n);
  const label = `doc example: ${ex.symbol}${n > 1 ? ` #${n}` : ""} (${ex.location})`;
  const typeErrors = prepared.typeErrors.get(i);
  Deno.test({
    name: ex.ignored ? `${label}: not run (${ex.ignored})` : label,
    // Ignored examples still take part in the type check; one without a reason fails.
    ignore: (!!ex.ignored && !typeErrors) || NOT_ROOT,
    async fn() {
      assert(ex.ignored !== "", `fenced 'ignore' without '${IGNORE_PREFIX} <reason>'`);
      const result = await resultOf(i);
      assert(result, "not run");
      assert(result.ok, `${ex.code}\n---\n${result.output}`);
    },
  });
}

Deno.test("doc examples: every example's process has ended; their modules are removed", async () => {
  await Promise.all(results ?? []);
  await prepared.cleanUp();
});
