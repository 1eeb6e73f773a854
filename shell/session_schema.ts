/**
 * The schema of a session file (`bpfsh run session.yaml`), checked before any step runs:
 * a wrong type anywhere is one error naming the key and what was expected, never a
 * JavaScript error from deep inside a command (`run: 5`, `object: {path: [1, 2]}`), and a
 * string where a list belongs is refused, not read letter by letter (`objects: abc`).
 *
 * A session file is as trusted as a script: its `run:` lines are shell commands and
 * JavaScript, run with the session's objects in scope.
 *
 * @module
 */

import { z } from "zod";
import { ShellError } from "./errors.ts";

/** The most steps a session may have (a session is a plan, not a log). */
export const MAX_SESSION_STEPS = 10_000;
/** How deep values (globals, map entries) may nest. */
const MAX_DEPTH = 32;
/** How many values (scalars, lists, mappings) a whole session may hold. */
const MAX_NODES = 200_000;

/** YAML integers arrive as bigint (`intAsBigInt`): counts and indexes take either. */
const integer = (min: number, max: number) =>
  z.union([z.number(), z.bigint()])
    .transform((v) => Number(v))
    .pipe(z.number().int().min(min).max(max));

/** Seconds: non-negative, at most a day. */
const seconds = z.union([z.number(), z.bigint()])
  .transform((v) => Number(v))
  .pipe(z.number().min(0).max(86_400));

/** A name of a map, program or object: no spaces (each becomes one command word). */
const name = z.string().regex(/^[^\s]+$/, "a name without spaces");

/** A global's or a map entry's value: what YAML can say (checked by the command later). */
const value = z.union([
  z.string(),
  z.number(),
  z.bigint(),
  z.boolean(),
  z.null(),
  z.array(z.unknown()),
  z.record(z.string(), z.unknown()),
]);

const objectSpec = z.strictObject({
  path: z.string().min(1),
  name: name.optional(),
  globals: z.record(z.string(), value).optional(),
  attach: z.union([
    z.enum(["all", "none"]),
    z.array(z.union([name, z.strictObject({ program: name, target: z.string().optional() })])),
  ]).optional(),
  progarray: z.array(
    z.strictObject({ map: name, index: integer(0, 0xffffffff), program: name }),
  ).optional(),
  maps: z.record(
    name,
    z.union([z.record(z.string(), value), z.array(z.tuple([value, value]))]),
  ).optional(),
});

const streamSpec = z.strictObject({
  map: name,
  as: name.optional(),
  count: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  timeout: seconds.optional(),
});

const watchSpec = z.strictObject({
  map: name,
  interval: seconds.optional(),
  times: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  top: integer(1, 1_000_000).optional(),
});

/** One thing, or a list of them. */
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t)]);

const sessionSchema = z.strictObject({
  output: z.enum(["table", "json", "yaml"]).optional(),
  object: z.union([z.string().min(1), objectSpec]).optional(),
  objects: z.array(z.union([z.string().min(1), objectSpec])).optional(),
  run: z.array(z.union([z.string(), z.strictObject({ sleep: seconds })])).optional(),
  tail: oneOrMany(streamSpec).optional(),
  watch: oneOrMany(watchSpec).optional(),
  dump: oneOrMany(name).optional(),
  hist: oneOrMany(name).optional(),
});

/** A checked session file. */
export type SessionSpec = z.infer<typeof sessionSchema>;
/** One object of a checked session file. */
export type ObjectSpec = z.infer<typeof objectSpec>;

/** The session keys, for the unknown-key hint. */
const KEYS = Object.keys(sessionSchema.shape);

/**
 * Refuse values a schema cannot walk safely: loops (a YAML alias inside its own anchor),
 * nesting deeper than {@link MAX_DEPTH}, more than {@link MAX_NODES} values.
 */
function checkShape(root: unknown): void {
  let nodes = 0;
  const onPath = new Set<object>();
  const walk = (v: unknown, depth: number, path: string): void => {
    if (++nodes > MAX_NODES) {
      throw new ShellError(`the session holds more than ${MAX_NODES} values`);
    }
    if (v === null || typeof v !== "object") return;
    if (onPath.has(v)) {
      throw new ShellError(`${path || "the session"} contains itself (a YAML alias loop)`);
    }
    if (depth > MAX_DEPTH) throw new ShellError(`${path} nests deeper than ${MAX_DEPTH} levels`);
    onPath.add(v);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, depth + 1, `${path}[${i}]`));
    else for (const [k, x] of Object.entries(v)) walk(x, depth + 1, path ? `${path}.${k}` : k);
    onPath.delete(v);
  };
  walk(root, 0, "");
}

/** Where in the file an issue is, as a user writes it: `objects[0].path`. */
function where(path: PropertyKey[]): string {
  return path.map((p, i) =>
    typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`
  ).join("");
}

/**
 * Check a parsed session file against the schema.
 *
 * @param spec The parsed YAML.
 * @returns The session, with YAML's bigint counts as numbers.
 * @throws {ShellError} Naming the first wrong key and what it should be.
 * @example
 * ```ts
 * parseSession({ object: "x.bpf.o", dump: "counts" }); // ok
 * parseSession({ run: 5 }); // ShellError: run: expected a list …
 * ```
 */
export function parseSession(spec: unknown): SessionSpec {
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) {
    throw new ShellError("a session file must be a YAML mapping", { hint: "see `help run`" });
  }
  checkShape(spec);
  const r = sessionSchema.safeParse(spec);
  if (!r.success) {
    const { issue, path } = innermost(r.error.issues[0], []);
    const at = where(path);
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `'${k}'`).join(", ");
      throw new ShellError(at ? `${at}: unknown key ${keys}` : `unknown session key ${keys}`, {
        hint: at ? "see `help run`" : `keys: ${KEYS.join(", ")}`,
      });
    }
    throw new ShellError(`${at || "the session"}: ${describe(issue, path)}`, {
      hint: "see `help run`",
    });
  }
  const steps = (r.data.run?.length ?? 0) + (r.data.objects?.length ?? 0);
  if (steps > MAX_SESSION_STEPS) {
    throw new ShellError(`the session has ${steps} steps, more than ${MAX_SESSION_STEPS}`, {
      hint: "a long series of commands belongs in a script (bpfsh run script.ts)",
    });
  }
  return r.data;
}

/**
 * The issue to report: for a value no member of a union accepts, the member that got
 * furthest into it (`object: {path: [1, 2]}` is a mapping with a bad path, not "not a
 * string"), when one did.
 */
function innermost(
  issue: z.core.$ZodIssue,
  prefix: PropertyKey[],
): { issue: z.core.$ZodIssue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code !== "invalid_union") return { issue, path };
  const firsts = issue.errors.map((branch) => branch[0]).filter(Boolean);
  const best = firsts.reduce<z.core.$ZodIssue | undefined>(
    (a, b) => (!a || b.path.length > a.path.length ? b : a),
    undefined,
  );
  return best && best.path.length > 0 ? innermost(best, path) : { issue, path };
}

/** An issue in words: zod's, said for YAML (integers parse as bigint), unions spelled out. */
function describe(issue: z.core.$ZodIssue, path: PropertyKey[]): string {
  if (issue.code === "invalid_union") {
    const key = [...path].reverse().find((p) => typeof p === "string") ?? "";
    return "expected " + (UNION_SHAPES[key] ?? "a different value");
  }
  return issue.message
    .replace(/^Invalid input: /, "")
    .replace("expected int, received number", "expected an integer")
    .replace(/received bigint$/, "received a number")
    .replace(/expected array\b/, "expected a list")
    .replace(/expected (record|object)\b/, "expected a mapping");
}

/** What each union key accepts, for its error (items of a list: the list's key). */
const UNION_SHAPES: Record<string, string> = {
  object: "a path, or a mapping with path, name, globals, attach, progarray, maps",
  objects: "a path, or a mapping with path, name, globals, attach, progarray, maps",
  run: "a command or JavaScript line (a string), or { sleep: seconds }",
  attach: "all, none, or a list of programs (a name, or { program, target })",
  tail: "a mapping with map, as, count, timeout (or a list of them)",
  watch: "a mapping with map, interval, times, top (or a list of them)",
  dump: "a map name, or a list of them",
  hist: "a map name, or a list of them",
};
