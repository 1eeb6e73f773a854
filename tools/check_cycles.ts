/**
 * Import-cycle check over the repository's TypeScript: every static import, re-export and
 * literal dynamic `import("...")` between the project's own modules is an edge, and any
 * cycle fails the check. Type-only imports count too: they cannot cycle at run time (the
 * compiler erases them), but a type cycle is still two modules that cannot be understood,
 * tested or moved one without the other. `--runtime` leaves them out.
 *
 * ```sh
 * deno run --allow-read tools/check_cycles.ts [--runtime] [DIR...]   # exit 1 on a cycle
 * ```
 *
 * @module
 */

/** One import of a module. */
export interface ImportEdge {
  /** The importing module, relative to the root. */
  from: string;
  /** The imported module, relative to the root. */
  to: string;
}

const SKIP = new Set(["node_modules", "build", ".git", ".notes"]);

// `import X from "y"`, `import { a, type b } from "y"`, `export { a } from "y"`,
// `export * from "y"`, `import "y"`: the clause is captured to tell type-only ones apart.
const STATIC = /^\s*(import|export)\s+(type\s+)?([^"';]*?)\s*(?:from\s*)?["']([^"']+)["'];?/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/**
 * The imports of one module's source: static imports, re-exports and literal dynamic
 * imports, relative specifiers only; with `runtimeOnly`, not those that import types only.
 *
 * @param source The module's text.
 * @param runtimeOnly Leave out `import type` and `{ type A }`-only imports.
 * @returns The specifiers.
 * @example
 * ```ts
 * moduleImports('import type { A } from "./a.ts";\nimport { b } from "./b.ts";', true);
 * // ["./b.ts"]
 * ```
 */
export function moduleImports(source: string, runtimeOnly = false): string[] {
  const code = stripComments(source);
  const out: string[] = [];
  for (const m of code.matchAll(STATIC)) {
    const [, , typeKeyword, clause, spec] = m;
    if (!spec.startsWith(".")) continue;
    if (runtimeOnly && (typeKeyword || onlyTypes(clause))) continue;
    out.push(spec);
  }
  for (const m of code.matchAll(DYNAMIC)) if (m[1].startsWith(".")) out.push(m[1]);
  return out;
}

/** Whether an import clause names types only: `{ type A, type B }` with nothing beside it. */
function onlyTypes(clause: string): boolean {
  const braces = /\{([^}]*)\}/.exec(clause);
  if (!braces) return false;
  const outside = clause.replace(braces[0], "").replace(/[\s,]/g, "");
  const names = braces[1].split(",").map((n) => n.trim()).filter(Boolean);
  return outside === "" && names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** Block and line comments out (JSDoc examples are not imports). Strings are kept. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/**
 * Every cycle in a graph, each once, as the list of modules around it.
 *
 * @param edges The graph.
 * @returns The cycles (strongly connected components with more than one module, or a module
 *   that imports itself).
 * @example
 * ```ts
 * findCycles([{ from: "a", to: "b" }, { from: "b", to: "a" }]); // [["a", "b"]]
 * ```
 */
export function findCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  // Tarjan's strongly connected components, iteratively (the graph is small, but deep).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  for (const root of next.keys()) {
    if (idx.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i === 0) {
        idx.set(v, index);
        low.set(v, index++);
        stack.push(v);
        onStack.add(v);
      }
      const succ = next.get(v)!;
      if (i < succ.length) {
        frame[1]++;
        const w = succ[i];
        if (!idx.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === idx.get(v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== v);
        if (scc.length > 1 || succ.includes(v)) cycles.push(scc.sort());
      }
    }
  }
  return cycles;
}

/**
 * The run-time import graph of every `.ts` file under the given directories.
 *
 * @param root The repository root.
 * @param dirs Directories (relative to root) to scan; files at the root are always scanned.
 * @param runtimeOnly Leave type-only imports out.
 * @returns The edges.
 * @example
 * ```ts
 * importGraph(".", ["bpf", "ffi"]).length > 0; // true
 * ```
 */
export function importGraph(
  root: string,
  dirs: readonly string[],
  runtimeOnly = false,
): ImportEdge[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(`${root}/${dir}`)) {
      const rel = dir === "." ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory && !SKIP.has(e.name)) walk(rel);
      else if (e.isFile && /\.(ts|mts|js)$/.test(e.name)) files.push(rel);
    }
  };
  for (const e of Deno.readDirSync(root)) {
    if (e.isFile && /\.(ts|mts|js)$/.test(e.name)) files.push(e.name);
  }
  for (const d of dirs) walk(d);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const base = from.includes("/") ? from.slice(0, from.lastIndexOf("/")) : ".";
    for (const spec of moduleImports(Deno.readTextFileSync(`${root}/${from}`), runtimeOnly)) {
      edges.push({ from, to: normalize(`${base}/${spec}`) });
    }
  }
  return edges;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "." || part === "") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const runtimeOnly = Deno.args.includes("--runtime");
  const args = Deno.args.filter((a) => a !== "--runtime");
  const dirs = args.length
    ? args
    : ["bpf", "ffi", "shell", "probe", "serve", "scripts", "tools", "bench", "tests"].filter(
      (d) => {
        try {
          return Deno.statSync(`${root}/${d}`).isDirectory;
        } catch {
          return false;
        }
      },
    );
  const edges = importGraph(root, dirs, runtimeOnly);
  const cycles = findCycles(edges);
  if (cycles.length) {
    console.error(`import cycles (${cycles.length}):`);
    for (const c of cycles) console.error(`  ${c.join(" <-> ")}`);
    Deno.exit(1);
  }
  console.log(`no import cycles (${edges.length} imports checked)`);
}
