/**
 * The syntax tree of a probe program, as the parser builds it and the later passes
 * annotate it: resolve fills in attach targets and tracepoint fields, check gives every
 * expression its {@link Ty}, emit turns it into C.
 *
 * @module
 */

import type { Span } from "./diagnostic.ts";
import type { Ty } from "./types.ts";

/** Fields every expression has. */
interface ExprBase {
  /** Where it is in the program. */
  span: Span;
  /** Its type, set by the check pass. */
  ty?: Ty;
}

/** An integer literal. */
export interface IntLit extends ExprBase {
  kind: "int";
  value: bigint;
}

/** A string literal. */
export interface StrLit extends ExprBase {
  kind: "str";
  value: string;
}

/** A builtin variable: `pid`, `comm`, `args`, `arg0`, `retval`, … */
export interface BuiltinRef extends ExprBase {
  kind: "builtin";
  name: string;
}

/** A positional parameter `$1` … (`n` 0 stands for `$#`, the count). */
export interface Param extends ExprBase {
  kind: "param";
  n: number;
}

/** A scratch variable `$x`. */
export interface VarRef extends ExprBase {
  kind: "var";
  name: string;
}

/** A map access `@name[k1, k2]` (`@` alone is the map named `@`). */
export interface MapRef extends ExprBase {
  kind: "map";
  /** Including the `@`. */
  name: string;
  keys: Expr[];
}

/** A function call `name(args)`. */
export interface Call extends ExprBase {
  kind: "call";
  name: string;
  args: Expr[];
  /** The span of the name alone. */
  nameSpan: Span;
}

/** A binary operation. */
export interface Binop extends ExprBase {
  kind: "binop";
  op: string;
  left: Expr;
  right: Expr;
}

/** A unary operation; `++`/`--` may be postfix. */
export interface Unop extends ExprBase {
  kind: "unop";
  op: string;
  expr: Expr;
  postfix: boolean;
}

/** `cond ? a : b`. */
export interface Ternary extends ExprBase {
  kind: "ternary";
  cond: Expr;
  then: Expr;
  otherwise: Expr;
}

/** `expr.field` or `expr->field`. */
export interface FieldAccess extends ExprBase {
  kind: "field";
  expr: Expr;
  field: string;
  arrow: boolean;
}

/** `expr[index]`. */
export interface IndexAccess extends ExprBase {
  kind: "index";
  expr: Expr;
  index: Expr;
}

/** `(type) expr`, for integer types. */
export interface Cast extends ExprBase {
  kind: "cast";
  type: string;
  expr: Expr;
}

/** Any expression. */
export type Expr =
  | IntLit
  | StrLit
  | BuiltinRef
  | Param
  | VarRef
  | MapRef
  | Call
  | Binop
  | Unop
  | Ternary
  | FieldAccess
  | IndexAccess
  | Cast;

/** An expression evaluated for its effect: `printf(...)`, `count()` as a statement, … */
export interface ExprStmt {
  kind: "expr";
  expr: Expr;
  span: Span;
}

/** `@m[k] = e`, `$x = e`, or a compound form (`op` is `+` for `+=`). */
export interface Assign {
  kind: "assign";
  target: MapRef | VarRef;
  op?: string;
  value: Expr;
  span: Span;
}

/** `if (cond) { … } else { … }`. */
export interface If {
  kind: "if";
  cond: Expr;
  then: Stmt[];
  otherwise: Stmt[];
  span: Span;
}

/** A statement. */
export type Stmt = ExprStmt | Assign | If;

/** One attach point as written, e.g. `tracepoint:syscalls:sys_enter_open*`. */
export interface AttachPointText {
  text: string;
  span: Span;
}

/** A probe: attach points, an optional predicate, and the action block. */
export interface Probe {
  attach: AttachPointText[];
  predicate?: Expr;
  body: Stmt[];
  span: Span;
}

/** A whole program. */
export interface Program {
  probes: Probe[];
}

/**
 * Visit every expression of a probe block: its predicate, then its statements (pre-order).
 *
 * @param probe The block.
 * @param fn Called for each expression.
 * @example
 * ```ts
 * walkProbe(probe, (e) => { if (e.kind === "builtin") used.add(e.name); });
 * ```
 */
export function walkProbe(probe: Probe, fn: (e: Expr) => void): void {
  if (probe.predicate) walkExpr(probe.predicate, fn);
  walkStmts(probe.body, fn);
}

/**
 * Visit every expression under some statements (pre-order), predicates excluded.
 *
 * @param stmts The statements.
 * @param fn Called for each expression.
 * @example
 * ```ts
 * walkStmts(probe.body, (e) => { if (e.kind === "builtin") used.add(e.name); });
 * ```
 */
export function walkStmts(stmts: Stmt[], fn: (e: Expr) => void): void {
  for (const s of stmts) {
    if (s.kind === "expr") walkExpr(s.expr, fn);
    else if (s.kind === "assign") {
      walkExpr(s.target, fn);
      walkExpr(s.value, fn);
    } else {
      walkExpr(s.cond, fn);
      walkStmts(s.then, fn);
      walkStmts(s.otherwise, fn);
    }
  }
}

/**
 * Visit an expression and everything under it (pre-order).
 *
 * @param e The expression.
 * @param fn Called for each expression.
 * @example
 * ```ts
 * walkExpr(probe.predicate!, (e) => console.log(e.kind));
 * ```
 */
export function walkExpr(e: Expr, fn: (e: Expr) => void): void {
  fn(e);
  switch (e.kind) {
    case "map":
      e.keys.forEach((k) => walkExpr(k, fn));
      break;
    case "call":
      e.args.forEach((a) => walkExpr(a, fn));
      break;
    case "binop":
      walkExpr(e.left, fn);
      walkExpr(e.right, fn);
      break;
    case "unop":
    case "cast":
    case "field":
      walkExpr(e.expr, fn);
      break;
    case "index":
      walkExpr(e.expr, fn);
      walkExpr(e.index, fn);
      break;
    case "ternary":
      walkExpr(e.cond, fn);
      walkExpr(e.then, fn);
      walkExpr(e.otherwise, fn);
      break;
  }
}
