/**
 * The public docs' examples, run as written: every `@example` of every symbol that
 * `deno doc mod.ts` shows (the module, its exports, their methods and properties) becomes
 * one module in a temporary directory, with the names mod.ts exports in scope (as
 * `deno test --doc` puts a module's exports in scope), type-checked, then run in a process of
 * its own, bounded in time. An example that imports `./mod.ts` itself keeps its import. A
 * type error fails its example, even one that would run (a ReferenceError caught by the
 * example's own `try`).
 *
 * ```sh
 * deno run -A tools/doc_examples.ts [--list] [FILTER]   # exit 1 when an example fails
 * ```
 *
 * @module
 */

/** One example of the public docs. */
export interface DocExample {
  /** Where it is documented, e.g. `"BpfMap.prototype.get"`. */
  symbol: string;
  /** The source file and line of the documented declaration. */
  location: string;
  /** The code of the fenced block. */
  code: string;
}

interface JsDoc {
  doc?: string;
  tags?: { kind: string; doc?: string }[];
}

interface DocNode {
  name: string;
  kind?: string;
  declarations?: DocDeclaration[];
  jsDoc?: JsDoc;
  location?: { filename: string; line: number };
  def?: Record<string, unknown>;
}

interface DocDeclaration {
  location: { filename: string; line: number };
  jsDoc?: JsDoc;
  kind?: string;
  def?: Record<string, unknown>;
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** How long one example may take. */
const EXAMPLE_TIMEOUT_MS = 10_000;

/**
 * The fenced `ts` blocks of a JSDoc's `@example` tags.
 *
 * @param jsDoc A JSDoc as `deno doc --json` gives it.
 * @returns The code of each block.
 * @example
 * ```ts
 * examplesOf({ tags: [{ kind: "example", doc: "```ts\nf();\n```" }] }); // ["f();\n"]
 * ```
 */
export function examplesOf(jsDoc: JsDoc | undefined): string[] {
  const out: string[] = [];
  for (const tag of jsDoc?.tags ?? []) {
    if (tag.kind !== "example" || !tag.doc) continue;
    for (const m of tag.doc.matchAll(/```(?:ts|typescript|js)\b[^\n]*\n([\s\S]*?)```/g)) {
      out.push(m[1]);
    }
  }
  return out;
}

/**
 * Every example of the public docs of a module, from its `deno doc --json` output.
 *
 * @param doc The parsed output.
 * @returns The examples.
 * @example
 * ```ts
 * collectExamples({ nodes: {} }); // []
 * ```
 */
export function collectExamples(doc: { nodes: Record<string, unknown> }): DocExample[] {
  const out: DocExample[] = [];
  const rel = (f: string) => f.replace(`file://${ROOT}/`, "");
  const add = (symbol: string, where: { filename: string; line: number }, jsDoc?: JsDoc) => {
    for (const code of examplesOf(jsDoc)) {
      out.push({ symbol, location: `${rel(where.filename)}:${where.line}`, code });
    }
  };
  for (const [file, node] of Object.entries(doc.nodes)) {
    const n = node as { module_doc?: JsDoc; symbols?: DocNode[] };
    add("(module)", { filename: file, line: 1 }, n.module_doc);
    for (const sym of n.symbols ?? []) {
      for (const decl of sym.declarations ?? []) {
        add(sym.name, decl.location, decl.jsDoc);
        const def = decl.def as
          | {
            constructors?: DocMember[];
            methods?: DocMember[];
            properties?: DocMember[];
          }
          | undefined;
        for (const kind of ["constructors", "methods", "properties"] as const) {
          for (const m of def?.[kind] ?? []) {
            const where = m.location ?? decl.location;
            const name = kind === "constructors"
              ? `${sym.name}.constructor`
              : `${sym.name}${m.isStatic ? "" : ".prototype"}.${m.name}`;
            add(name, where, m.jsDoc);
          }
        }
      }
    }
  }
  return out;
}

interface DocMember {
  name: string;
  isStatic?: boolean;
  jsDoc?: JsDoc;
  location?: { filename: string; line: number };
}

/** The names mod.ts exports, values and types apart (types need `import type`). */
function exportedNames(doc: { nodes: Record<string, unknown> }): string[] {
  const names = new Set<string>();
  for (const node of Object.values(doc.nodes)) {
    for (const sym of (node as { symbols?: DocNode[] }).symbols ?? []) names.add(sym.name);
  }
  return [...names].sort();
}

/**
 * The module an example runs as: mod.ts's exports in scope unless it imports mod.ts itself.
 *
 * @param ex The example.
 * @param names What mod.ts exports.
 * @returns The module's text.
 * @example
 * ```ts
 * exampleModule({ symbol: "f", location: "x.ts:1", code: "f();\n" }, ["f"]).includes("f();"); // true
 * ```
 */
export function exampleModule(ex: DocExample, names: string[]): string {
  const code = ex.code.replace(/(["'])\.\/mod\.ts\1/g, `"${ROOT}/mod.ts"`);
  const ownImport = /from\s+["'][^"']*\/mod\.ts["']/.test(code);
  const prelude = ownImport ? "" : `import { ${names.join(", ")} } from "${ROOT}/mod.ts";\n`;
  return `// ${ex.symbol} (${ex.location})\n${prelude}\n${code}`;
}

/**
 * The type errors of each example, from `deno check`'s output over the example modules.
 *
 * @param output What `deno check` printed (without colour).
 * @param paths The example modules, in order.
 * @param firstLines The line of each module where its example's code starts.
 * @returns Example index to its error messages (code and message, with the example's line).
 * @example
 * ```ts
 * const out = "TS2304 [ERROR]: Cannot find name 'obj'.\nobj.load();\n~~~\n" +
 *   "    at file:///tmp/x/example_000.ts:3:1\n";
 * typeErrorsOf(out, ["/tmp/x/example_000.ts"], [3]); // Map { 0 => ["TS2304 [ERROR]: Cannot find name 'obj'. (line 1)"] }
 * ```
 */
export function typeErrorsOf(
  output: string,
  paths: string[],
  firstLines: number[],
): Map<number, string[]> {
  const index = new Map(paths.map((p, i) => [`file://${p}`, i]));
  const out = new Map<number, string[]>();
  for (const block of output.split(/\n(?=TS\d+ \[ERROR\])/)) {
    const where = block.match(/at (file:\/\/\S+?):(\d+):\d+/);
    const i = where ? index.get(where[1]) : undefined;
    if (i === undefined) continue;
    const list = out.get(i) ?? [];
    const line = Number(where![2]) - firstLines[i] + 1;
    list.push(`${block.split("\n")[0].trim()} (line ${line})`);
    out.set(i, list);
  }
  return out;
}

/** Run one example module in a child process, killed after {@link EXAMPLE_TIMEOUT_MS}. */
async function runExample(path: string): Promise<{ ok: boolean; ms: number; output: string }> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "--no-check", "--config", `${ROOT}/deno.json`, path],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  let hardKill: ReturnType<typeof setTimeout> | undefined;
  const kill = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch {
      // It ended meanwhile.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill("SIGTERM");
    hardKill = setTimeout(() => kill("SIGKILL"), 2000);
  }, EXAMPLE_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  clearTimeout(hardKill);
  const ms = Math.round(performance.now() - start);
  const text = new TextDecoder().decode(out.stderr).trim();
  const output = timedOut ? `did not finish in ${EXAMPLE_TIMEOUT_MS} ms\n${text}` : text;
  return { ok: out.success && !timedOut, ms, output };
}

if (import.meta.main) {
  const list = Deno.args.includes("--list");
  const filter = Deno.args.find((a) => !a.startsWith("--"));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", `${ROOT}/mod.ts`],
    stdout: "piped",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const names = exportedNames(doc);
  const examples = collectExamples(doc).filter((e) => !filter || e.symbol.includes(filter));
  if (list) {
    for (const e of examples) console.log(`${e.symbol}\t${e.location}`);
    Deno.exit(0);
  }
  const dir = await Deno.makeTempDir({ prefix: "bpfsh-doc-examples-" });
  const tests: string[] = [];
  const firstLines: number[] = [];
  examples.forEach((ex, i) => {
    const path = `${dir}/example_${String(i).padStart(3, "0")}.ts`;
    const text = exampleModule(ex, names);
    Deno.writeTextFileSync(path, text);
    tests.push(path);
    firstLines.push(text.slice(0, text.length - ex.code.length).split("\n").length);
  });
  // Type-check them all in one run; an example with a type error fails on its own line.
  const checked = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", `${ROOT}/deno.json`, ...tests],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const typeErrors = typeErrorsOf(new TextDecoder().decode(checked.stderr), tests, firstLines);
  if (checked.code && !typeErrors.size) {
    await Deno.stderr.write(checked.stdout);
    await Deno.stderr.write(checked.stderr);
  }
  // Each example in its own process, one after the other (trace_pipe is exclusive, tc and xdp
  // on lo are shared): one that never ends is killed, and takes nothing of the run with it.
  let failed = 0;
  for (const [i, ex] of examples.entries()) {
    const label = `${ex.symbol} (${ex.location})`;
    const bad = typeErrors.get(i);
    const result = bad
      ? { ok: false, ms: 0, output: `type check failed:\n${bad.join("\n")}` }
      : await runExample(tests[i]);
    if (result.ok) console.log(`${label} ... ok (${result.ms} ms)`);
    else {
      failed++;
      console.log(`${label} ... FAILED (${result.ms} ms)\n${result.output.replace(/^/gm, "    ")}`);
    }
  }
  await Deno.remove(dir, { recursive: true });
  console.log(`${examples.length - failed} passed, ${failed} failed (doc examples)`);
  Deno.exit(failed || (checked.code && !typeErrors.size) ? 1 : 0);
}
