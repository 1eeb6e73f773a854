/**
 * A JavaScript line made ready for the shell's global scope, as a REPL must: what it declares
 * (`const`, `let`, `class`, `function`) stays defined for the next lines, `await` works at the
 * top level, and the value of its last expression is the line's result.
 *
 * The line is parsed (acorn) and rewritten, then run by an indirect `eval`, whose `var`s and
 * functions are globals: top-level `let`/`const` become `var`, a `class` declaration a `var`
 * holding the class. A line with a top-level `await` becomes an async function whose
 * declarations are assigned to globals declared before it, and whose last expression is
 * returned as `{ value }`.
 *
 * (The shell used V8's REPL mode through `node:inspector` before: in Deno 2.9 that path aborts
 * the whole process — "Invoke in DisallowJavascriptExecutionScope" — after some hundreds of
 * lines while any promise is pending.)
 *
 * @module
 */

import { parse } from "acorn";

/** A line rewritten for an indirect eval. */
export interface PreparedCode {
  /** The code to evaluate. */
  code: string;
  /** It evaluates to a promise of `{ value }` (the line has a top-level `await`). */
  async: boolean;
}

/** The parts of an acorn node this module reads. */
interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

const PARSE = {
  ecmaVersion: "latest",
  sourceType: "script",
  allowAwaitOutsideFunction: true,
} as const;

/**
 * Rewrite a line so that an indirect eval runs it like a REPL.
 *
 * @param src The line as typed.
 * @returns The code to evaluate; code that does not parse comes back as it is (the eval then
 *   throws its SyntaxError).
 * @example
 * ```ts
 * prepareCode("const x = 1").code; // "var x = 1"
 * prepareCode("{a: 1}").code; // "({a: 1})"
 * prepareCode("const r = await f(); r").async; // true
 * ```
 */
export function prepareCode(src: string): PreparedCode {
  // `{a: 1}` alone is an object to a REPL user, a block to the parser: try it as an expression
  // first, as Node's REPL does.
  if (/^\s*\{/.test(src) && !/;\s*$/.test(src)) {
    try {
      parse(`(${src})`, PARSE);
      return { code: `(${src})`, async: false };
    } catch {
      // A block after all.
    }
  }
  let program: Node;
  try {
    program = parse(src, PARSE) as unknown as Node;
  } catch {
    return { code: src, async: false };
  }
  const body = program.body as Node[];
  return hasTopLevelAwait(program) ? wrapAsync(src, body) : hoistSync(src, body);
}

/** One replacement of `src.slice(start, end)`. */
type Edit = [start: number, end: number, text: string];

function apply(src: string, edits: Edit[]): string {
  let out = src;
  for (const [start, end, text] of [...edits].sort((a, b) => b[0] - a[0])) {
    out = out.slice(0, start) + text + out.slice(end);
  }
  return out;
}

/** No await: `let`/`const` at the top level become `var`, classes `var C = class C {}`. */
function hoistSync(src: string, body: Node[]): PreparedCode {
  const edits: Edit[] = [];
  for (const s of body) {
    if (s.type === "VariableDeclaration" && s.kind !== "var") {
      edits.push([s.start, s.start + String(s.kind).length, "var"]);
    } else if (s.type === "ClassDeclaration") {
      const name = (s.id as Node & { name: string }).name;
      edits.push([s.start, s.start, `var ${name} = `], [s.end, s.end, ";"]);
    }
  }
  return { code: apply(src, edits), async: false };
}

/** Top-level await: an async function over globals declared before it. */
function wrapAsync(src: string, body: Node[]): PreparedCode {
  const names = new Set<string>();
  const edits: Edit[] = [];
  const hoisted: string[] = [];
  body.forEach((s, i) => {
    const text = (n: Node) => src.slice(n.start, n.end);
    if (s.type === "VariableDeclaration") {
      const parts: string[] = [];
      for (const d of s.declarations as Node[]) {
        const id = d.id as Node;
        for (const n of patternNames(id)) names.add(n);
        if (d.init) parts.push(`(${text(id)} = ${text(d.init as Node)})`);
      }
      edits.push([s.start, s.end, parts.length ? `void (${parts.join(", ")});` : ";"]);
    } else if (s.type === "FunctionDeclaration") {
      const name = (s.id as Node & { name: string }).name;
      names.add(name);
      // Declarations are hoisted: defined before the first statement runs.
      hoisted.push(`${name} = ${text(s)};`);
      edits.push([s.start, s.end, ""]);
    } else if (s.type === "ClassDeclaration") {
      const name = (s.id as Node & { name: string }).name;
      names.add(name);
      edits.push([s.start, s.end, `${name} = ${text(s)};`]);
    } else if (s.type === "ExpressionStatement" && i === body.length - 1) {
      const e = s.expression as Node;
      edits.push([s.start, s.end, `return { value: (${text(e)}) };`]);
    }
  });
  const decl = names.size ? `var ${[...names].join(", ")};\n` : "";
  const code = `${decl}(async () => {\n${hoisted.join("\n")}\n${apply(src, edits)}\n})()`;
  return { code, async: true };
}

/** The names a declaration pattern binds: `a`, `{a, b: [c]}`, `...rest`, `a = 1`. */
function patternNames(p: Node): string[] {
  switch (p.type) {
    case "Identifier":
      return [p.name as string];
    case "ObjectPattern":
      return (p.properties as Node[]).flatMap((q) =>
        patternNames(q.type === "RestElement" ? q : q.value as Node)
      );
    case "ArrayPattern":
      return (p.elements as (Node | null)[]).flatMap((q) => q ? patternNames(q) : []);
    case "RestElement":
      return patternNames(p.argument as Node);
    case "AssignmentPattern":
      return patternNames(p.left as Node);
    default:
      return [];
  }
}

/** Whether an `await` (or `for await`) is outside every function of the program. */
function hasTopLevelAwait(n: unknown): boolean {
  if (!n || typeof n !== "object") return false;
  if (Array.isArray(n)) return n.some(hasTopLevelAwait);
  const node = n as Node;
  if (node.type === "AwaitExpression") return true;
  if (node.type === "ForOfStatement" && node.await) return true;
  if (/Function/.test(node.type) || node.type === "ClassBody") return false;
  for (const [k, v] of Object.entries(node)) {
    if (k !== "type" && k !== "start" && k !== "end" && v && typeof v === "object") {
      if (hasTopLevelAwait(v)) return true;
    }
  }
  return false;
}
