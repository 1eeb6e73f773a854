/**
 * The public docs' examples, run as written: every `@example` of every symbol that
 * `deno doc mod.ts` shows (the module, its exports, their methods and properties) becomes
 * one module in a temporary directory, with the names mod.ts exports in scope (as
 * `deno test --doc` puts a module's exports in scope), type-checked, then run in a process of
 * its own, bounded in time. An example that imports `./mod.ts` itself keeps its import. A
 * type error fails its example, even one that would run (a ReferenceError caught by the
 * example's own `try`). The suite runs them all (tests/doc_examples_test.ts), two at a time.
 *
 * An example that cannot run on a test machine (it needs a kprobe, a kernel feature the
 * machine lacks) is fenced as ```` ```ts ignore ```` (as `deno test --doc` reads it) and
 * starts with a comment saying why: `// Not run by the suite: <reason>`. It is still
 * type-checked, and reported as ignored with its reason; an ignored example without that
 * comment fails.
 *
 * ```sh
 * deno run -A tools/doc_examples.ts [--list] [--show] [FILTER]   # exit 1 when one fails
 * ```
 *
 * `--list` lists them; `--show` prints what each one printed, to check its comments against.
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
  /** Why it is not run (from its first line), when fenced `ts ignore`; `""` when unsaid. */
  ignored?: string;
}

/** The first line an ignored example starts with, before its reason. */
export const IGNORE_PREFIX = "// Not run by the suite:";

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
export const EXAMPLE_TIMEOUT_MS = 10_000;

/**
 * The fenced `ts` blocks of a JSDoc's `@example` tags.
 *
 * @param jsDoc A JSDoc as `deno doc --json` gives it.
 * @returns The code of each block, and why it is not run when it is fenced `ts ignore`.
 * @example
 * ```ts
 * examplesOf({ tags: [{ kind: "example", doc: "```ts\nf();\n```" }] }); // [{ code: "f();\n" }]
 * ```
 */
export function examplesOf(jsDoc: JsDoc | undefined): { code: string; ignored?: string }[] {
  const out: { code: string; ignored?: string }[] = [];
  for (const tag of jsDoc?.tags ?? []) {
    if (tag.kind !== "example" || !tag.doc) continue;
    for (const m of tag.doc.matchAll(/```(?:ts|typescript|js)\b([^\n]*)\n([\s\S]*?)```/g)) {
      const code = m[2];
      if (!/\bignore\b/.test(m[1])) {
        out.push({ code });
        continue;
      }
      const first = code.split("\n")[0].trim();
      const ignored = first.startsWith(IGNORE_PREFIX)
        ? first.slice(IGNORE_PREFIX.length).trim()
        : "";
      out.push({ code, ignored });
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
    for (const { code, ignored } of examplesOf(jsDoc)) {
      const location = `${rel(where.filename)}:${where.line}`;
      out.push(
        ignored === undefined ? { symbol, location, code } : { symbol, location, code, ignored },
      );
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

/** The names mod.ts exports. */
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

/** How one example went. */
export interface ExampleResult {
  /** Whether it ran to a zero exit status in time, and type-checked. */
  ok: boolean;
  /** How long it ran. */
  ms: number;
  /** What it printed on stderr, or its type errors. */
  output: string;
  /** What it printed on stdout. */
  stdout?: string;
}

/**
 * Run one example module in a child process, killed after {@link EXAMPLE_TIMEOUT_MS}.
 *
 * @param path The module.
 * @returns How it went.
 */
export async function runExample(path: string): Promise<ExampleResult> {
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
  const stdout = new TextDecoder().decode(out.stdout).trim();
  return { ok: out.success && !timedOut, ms, output, stdout };
}

/** The examples written out as modules and type-checked, ready to run. */
export interface PreparedExamples {
  /** The examples, in doc order. */
  examples: DocExample[];
  /** The module of each example. */
  paths: string[];
  /** Example index to its type errors. */
  typeErrors: Map<number, string[]>;
  /** What `deno check` printed when it failed without naming an example (else `""`). */
  checkFailure: string;
  /** Remove the modules. */
  cleanUp(): Promise<void>;
}

/**
 * Collect the examples of mod.ts's docs, write each as a module and type-check them all in
 * one `deno check` run.
 *
 * @param filter Only the examples whose symbol includes this text.
 * @returns The prepared examples.
 */
export async function prepareExamples(filter?: string): Promise<PreparedExamples> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", `${ROOT}/mod.ts`],
    stdout: "piped",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const names = exportedNames(doc);
  const examples = collectExamples(doc).filter((e) => !filter || e.symbol.includes(filter));
  const dir = await Deno.makeTempDir({ prefix: "bpfsh-doc-examples-" });
  const paths: string[] = [];
  const firstLines: number[] = [];
  examples.forEach((ex, i) => {
    const path = `${dir}/example_${String(i).padStart(3, "0")}.ts`;
    const text = exampleModule(ex, names);
    Deno.writeTextFileSync(path, text);
    paths.push(path);
    firstLines.push(text.slice(0, text.length - ex.code.length).split("\n").length);
  });
  // Type-check them all in one run; an example with a type error fails on its own line.
  const checked = paths.length
    ? await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", `${ROOT}/deno.json`, ...paths],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output()
    : undefined;
  const stderr = new TextDecoder().decode(checked?.stderr);
  const typeErrors = typeErrorsOf(stderr, paths, firstLines);
  const checkFailure = checked && !checked.success && !typeErrors.size
    ? `${new TextDecoder().decode(checked.stdout)}${stderr}`
    : "";
  const cleanUp = () => Deno.remove(dir, { recursive: true });
  return { examples, paths, typeErrors, checkFailure, cleanUp };
}

/**
 * Whether an example must run alone: it reads trace_pipe (one reader takes each line) or
 * attaches to a network device (XDP and tc hooks of lo are shared).
 *
 * @param code The example's code.
 * @returns True when no other example may run beside it.
 * @example
 * ```ts
 * runsAlone('for await (const l of tracePipe()) console.log(l);'); // true
 * ```
 */
export function runsAlone(code: string): boolean {
  return /tracePipe|trace_pipe|TracePipe|printk|xdp|\btc\b|tc\/|"lo"|:lo\b|ifindex/i.test(code);
}

/**
 * Run prepared examples, at most `parallel` at a time (one that {@link runsAlone} waits for
 * the others and holds back the rest); ignored ones and ones that failed their type check do
 * not run.
 *
 * @param prepared The examples.
 * @param parallel How many may run at once.
 * @returns One promise per example, settled when it is done (undefined for an ignored one).
 */
export function runExamples(
  prepared: PreparedExamples,
  parallel = 2,
): Promise<ExampleResult | undefined>[] {
  const { examples, paths, typeErrors } = prepared;
  const running = new Set<Promise<void>>();
  let queue: Promise<unknown> = Promise.resolve();
  return examples.map((ex, i) => {
    const bad = typeErrors.get(i);
    if (bad) {
      return Promise.resolve({ ok: false, ms: 0, output: `type check failed:\n${bad.join("\n")}` });
    }
    if (ex.ignored !== undefined) return Promise.resolve(undefined);
    const alone = runsAlone(ex.code);
    // In doc order: wait for a free slot (for every slot when alone), then start.
    const started = queue.then(async () => {
      while (running.size >= (alone ? 1 : parallel)) await Promise.race(running);
      const run = runExample(paths[i]).catch((e) => ({ ok: false, ms: 0, output: String(e) }));
      const slot: Promise<void> = run.then(() => void running.delete(slot));
      running.add(slot);
      return { run, slot };
    });
    queue = started.then(({ slot }) => alone ? slot : undefined);
    return started.then(({ run }) => run);
  });
}

if (import.meta.main) {
  const list = Deno.args.includes("--list");
  const show = Deno.args.includes("--show");
  const filter = Deno.args.find((a) => !a.startsWith("--"));
  const prepared = await prepareExamples(filter);
  const { examples } = prepared;
  if (list) {
    for (const e of examples) {
      const ignored = e.ignored === undefined ? "" : `\tignored: ${e.ignored || "(no reason)"}`;
      console.log(`${e.symbol}\t${e.location}${ignored}`);
    }
    await prepared.cleanUp();
    Deno.exit(0);
  }
  if (prepared.checkFailure) console.error(prepared.checkFailure);
  let failed = 0;
  let ignored = 0;
  const results = runExamples(prepared);
  for (const [i, ex] of examples.entries()) {
    const label = `${ex.symbol} (${ex.location})`;
    const result = await results[i];
    if (!result && ex.ignored) {
      ignored++;
      console.log(`${label} ... ignored (${ex.ignored})`);
    } else if (!result) {
      failed++;
      console.log(`${label} ... FAILED: fenced ignore without '${IGNORE_PREFIX} <reason>'`);
    } else if (result.ok) {
      console.log(`${label} ... ok (${result.ms} ms)`);
      if (show) console.log(`${result.stdout}\n${result.output}`.trim().replace(/^/gm, "    "));
    } else {
      failed++;
      console.log(`${label} ... FAILED (${result.ms} ms)\n${result.output.replace(/^/gm, "    ")}`);
    }
  }
  await prepared.cleanUp();
  const passed = examples.length - failed - ignored;
  console.log(`${passed} passed, ${failed} failed, ${ignored} ignored (doc examples)`);
  Deno.exit(failed || prepared.checkFailure ? 1 : 0);
}
