/**
 * docs/api.md, generated from what `deno doc --json mod.ts` says: every export of mod.ts,
 * grouped by the folder that defines it, with its JSDoc, its signature and a line per
 * member. Links stay inside the repository (to the source files and to the page's own
 * headings); tests/api_doc_test.ts fails when the page is out of date.
 *
 * ```sh
 * deno run -A tools/api_doc.ts           # rewrite docs/api.md
 * deno run -A tools/api_doc.ts --check   # exit 1 when docs/api.md is out of date
 * ```
 *
 * @module
 */

/** A JSDoc as `deno doc --json` gives it. */
interface JsDoc {
  doc?: string;
  tags?: { kind: string; name?: string; doc?: string }[];
}

/** A type as `deno doc --json` gives it (only the fields read here). */
interface TsType {
  repr?: string;
  kind?: string;
  // deno-lint-ignore no-explicit-any
  value?: any;
}

interface Param {
  kind: string;
  name?: string;
  optional?: boolean;
  left?: Param;
  arg?: Param;
  tsType?: TsType;
}

interface TypeParam {
  name: string;
  constraint?: TsType;
}

interface Member {
  name: string;
  kind?: string;
  isStatic?: boolean;
  optional?: boolean;
  readonly?: boolean;
  accessibility?: string;
  jsDoc?: JsDoc;
  params?: Param[];
  tsType?: TsType;
  returnType?: TsType;
  typeParams?: TypeParam[];
  functionDef?: { params: Param[]; returnType?: TsType; typeParams?: TypeParam[] };
}

/** One declaration of a symbol. */
export interface Declaration {
  kind: string;
  location: { filename: string; line: number };
  jsDoc?: JsDoc;
  def?: {
    params?: Param[];
    returnType?: TsType;
    tsType?: TsType;
    kind?: string;
    typeParams?: TypeParam[];
    constructors?: Member[];
    methods?: Member[];
    properties?: Member[];
    callSignatures?: Member[];
    extends?: TsType[] | TsType;
  };
}

/** One symbol of `deno doc --json`. */
export interface DocSymbol {
  name: string;
  declarations: Declaration[];
}

/** The output of `deno doc --json` for one module. */
export interface DocJson {
  /** Per file: its module doc and its symbols. */
  nodes: Record<string, { module_doc?: JsDoc; symbols?: DocSymbol[] }>;
}

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const PAGE = `${ROOT}/docs/api.md`;

/** Section titles per defining folder; a folder not named here is titled by its path. */
const SECTIONS: Record<string, string> = {
  "ffi/": "Errors and libbpf",
  "bpf/object/": "Objects, programs, globals, lifetime",
  "bpf/map/": "Maps and program arrays",
  "bpf/link/": "Attaching",
  "bpf/elf/": "ELF files",
  "bpf/btf/": "BTF",
  "bpf/btf/codec/": "BTF codecs",
  "bpf/build/": "Building BPF C",
  "bpf/system/": "The system: features and mounts",
  "bpf/events/": "Events: ring buffers, perf buffers, trace_pipe",
  "bpf/stack/": "Stacks and symbols",
  "probe/": "The probe language",
};

/**
 * A type as TypeScript source, from `deno doc`'s tree.
 *
 * @param t The type.
 * @returns Its text (`…` for a shape not rendered).
 * @example
 * ```ts
 * typeText({ kind: "array", value: { kind: "keyword", value: "string" } }); // "string[]"
 * ```
 */
export function typeText(t: TsType | undefined): string {
  if (!t) return "";
  const v = t.value;
  switch (t.kind) {
    case "keyword":
    case "this":
      return t.repr || String(v ?? "this");
    case "typeRef": {
      const args = (v.typeParams ?? []) as TsType[];
      return args.length ? `${v.typeName}<${args.map(typeText).join(", ")}>` : v.typeName;
    }
    case "union":
      return (v as TsType[]).map(typeText).join(" | ");
    case "intersection":
      return (v as TsType[]).map(typeText).join(" & ");
    case "array": {
      const inner = typeText(v);
      return /[ |&]/.test(inner) ? `(${inner})[]` : `${inner}[]`;
    }
    case "tuple":
      return `[${(v as TsType[]).map(typeText).join(", ")}]`;
    case "literal":
      if (v?.kind === "string") return JSON.stringify(v.string);
      if (v?.kind === "template") return t.repr ? `\`${t.repr}\`` : "string";
      return t.repr ?? String(v?.number ?? v?.boolean ?? v?.string ?? "…");
    case "typeOperator":
      return `${v.operator} ${typeText(v.tsType)}`;
    case "parenthesized":
      return `(${typeText(v)})`;
    case "fnOrConstructor":
      return `${v.constructor ? "new " : ""}(${paramsText(v.params)}) => ${typeText(v.tsType)}`;
    case "typeLiteral": {
      const props = ((v.properties ?? []) as Member[]).map((p) =>
        `${p.readonly ? "readonly " : ""}${p.name}${p.optional ? "?" : ""}: ${typeText(p.tsType)}`
      );
      return props.length ? `{ ${props.join("; ")} }` : "{ … }";
    }
    case "indexedAccess":
      return `${typeText(v.objType)}[${typeText(v.indexType)}]`;
    case "typeQuery":
      return `typeof ${typeof v === "string" ? v : (v?.exprName ?? "…")}`;
    default:
      return t.repr || "…";
  }
}

/** Type parameters as `<K, V extends X>` (empty when there are none). */
function typeParamsText(tps: TypeParam[] | undefined): string {
  if (!tps?.length) return "";
  const one = (t: TypeParam) =>
    `${t.name}${t.constraint ? ` extends ${typeText(t.constraint)}` : ""}`;
  return `<${tps.map(one).join(", ")}>`;
}

/** Parameters as `a, b?, ...rest`, with their types. */
function paramsText(params: Param[] = []): string {
  return params.map(paramText).join(", ");
}

function paramText(p: Param): string {
  const type = (q: Param) => q.tsType ? `: ${typeText(q.tsType)}` : "";
  switch (p.kind) {
    case "identifier":
      return `${p.name}${p.optional ? "?" : ""}${type(p)}`;
    case "assign":
      return p.left ? `${p.left.name}?${type(p.left)}` : "…";
    case "rest":
      return p.arg ? `...${p.arg.name}${type(p)}` : "...args";
    case "object":
      return `{ … }${type(p)}`;
    case "array":
      return `[ … ]${type(p)}`;
    default:
      return "…";
  }
}

/**
 * A heading's anchor, as GitHub and most renderers make it.
 *
 * @param heading The heading's text.
 * @returns The anchor, without `#`.
 * @example
 * ```ts
 * anchorOf("class BpfMap"); // "class-bpfmap"
 * ```
 */
export function anchorOf(heading: string): string {
  return heading.toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-");
}

/** The kind a heading names (`typeAlias` reads as `type`). */
function kindWord(kind: string): string {
  return kind === "typeAlias" ? "type" : kind === "variable" ? "const" : kind;
}

/** The repository-relative path of a `file://` URL. */
function relative(url: string): string {
  return url.replace(`file://${ROOT}/`, "");
}

/**
 * The page: markdown for every export of mod.ts.
 *
 * @param doc `deno doc --json mod.ts`, parsed.
 * @returns The text of docs/api.md.
 * @example
 * ```ts
 * renderApi({ nodes: {} }).startsWith("# bpfsh API"); // true
 * ```
 */
export function renderApi(doc: DocJson): string {
  const symbols: DocSymbol[] = [];
  let moduleDoc: JsDoc | undefined;
  for (const node of Object.values(doc.nodes)) {
    moduleDoc ??= node.module_doc;
    symbols.push(...(node.symbols ?? []));
  }
  // Where each name's heading is, for {@link Name} and {@link Name.member}.
  const anchors = new Map<string, string>();
  for (const s of symbols) anchors.set(s.name, anchorOf(headingOf(s)));
  const prose = (text: string | undefined) => linkify(text ?? "", anchors).trim();

  const groups = new Map<string, DocSymbol[]>();
  for (const s of symbols) {
    const file = relative(s.declarations[0].location.filename);
    const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "./";
    groups.set(folder, [...(groups.get(folder) ?? []), s]);
  }
  const titleOf = (folder: string) => `${SECTIONS[folder] ?? folder} (${folder})`;

  const out: string[] = [
    "# bpfsh API",
    "",
    "<!-- Generated by tools/api_doc.ts from mod.ts's JSDoc: do not edit; run",
    "     `deno run -A tools/api_doc.ts` (tests/api_doc_test.ts fails when this page is stale). -->",
    "",
    "Everything `mod.ts` exports, grouped by the folder that defines it. The same docs in the",
    "terminal: `deno doc mod.ts`, or one symbol with `deno doc --filter BpfMap mod.ts`. How the",
    "pieces fit is in [architecture.md](architecture.md).",
    "",
  ];
  if (moduleDoc?.doc) out.push(prose(moduleDoc.doc), "");
  for (const tag of moduleDoc?.tags ?? []) {
    if (tag.kind === "example" && tag.doc) out.push(exampleBlock(tag.doc), "");
  }
  out.push("## Contents", "");
  for (const [folder, list] of groups) {
    const names = list.map((s) => `[${s.name}](#${anchors.get(s.name)})`).join(", ");
    out.push(`- [${titleOf(folder)}](#${anchorOf(titleOf(folder))}): ${names}`);
  }
  out.push("");
  for (const [folder, list] of groups) {
    out.push(`## ${titleOf(folder)}`, "");
    for (const s of list) out.push(...symbolSection(s, prose));
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

/**
 * A symbol's heading: its kind and name.
 *
 * @param s The symbol.
 * @returns E.g. `"class BpfMap"`, `"type BtfKind"`, `"const KERNEL_SPACE_START"`.
 * @example
 * ```ts
 * headingOf({ name: "BpfMap", declarations: [{ kind: "class", location: { filename: "", line: 1 } }] }); // "class BpfMap"
 * ```
 */
export function headingOf(s: DocSymbol): string {
  return `${kindWord(s.declarations[0].kind)} ${s.name}`;
}

/** `{@link X}` and `{@link X.y}` as links to the page's headings (code when not exported). */
function linkify(text: string, anchors: Map<string, string>): string {
  return text.replace(/\{@link\s+([^}\s|]+)(?:\s*\|?\s*([^}]*))?\}/g, (_, target, label) => {
    const anchor = anchors.get(target.split(".")[0]);
    const shown = label?.trim() || target;
    return anchor ? `[\`${shown}\`](#${anchor})` : `\`${shown}\``;
  });
}

/**
 * The first sentence of a doc's first paragraph, on one line (not cut at `e.g.`).
 *
 * @param text The doc.
 * @returns The sentence.
 * @example
 * ```ts
 * firstSentence("The op, e.g. `load`. More."); // "The op, e.g. `load`."
 * ```
 */
export function firstSentence(text: string): string {
  const para = text.split(/\n\s*\n|```/)[0].replace(/\s*\n\s*/g, " ").trim();
  const m = para.match(/^(.*?(?<!\b(?:e\.g|i\.e|etc|vs))[.!?])(?=\s+[A-Z(`"']|$)/);
  return (m ? m[1] : para).replace(/\|/g, "\\|");
}

function exampleBlock(doc: string): string {
  // An example tag may start with a title line before its fenced block.
  const fence = doc.indexOf("```");
  const title = fence > 0 ? doc.slice(0, fence).trim() : "";
  const block = fence >= 0 ? doc.slice(fence).trim() : "```ts\n" + doc.trim() + "\n```";
  return title ? `Example: ${title}\n\n${block}` : `Example:\n\n${block}`;
}

function symbolSection(s: DocSymbol, prose: (t: string | undefined) => string): string[] {
  const d = s.declarations[0];
  const file = relative(d.location.filename);
  const out = [`### ${headingOf(s)}`, "", "```ts", signatureOf(s.name, d), "```", ""];
  out.push(`Defined in [${file}](../${file}).`, "");
  if (d.jsDoc?.doc) out.push(prose(d.jsDoc.doc), "");
  const tags = d.jsDoc?.tags ?? [];
  const params = tags.filter((t) => t.kind === "param" && t.doc);
  if (params.length) {
    out.push(...params.map((t) => `- \`${t.name}\`: ${prose(t.doc).replace(/\n/g, " ")}`), "");
  }
  for (const t of tags) {
    if (t.kind === "return" && t.doc) out.push(`Returns ${prose(t.doc).replace(/\n/g, " ")}`, "");
    if (t.kind === "throws" && t.doc) out.push(`Throws ${prose(t.doc).replace(/\n/g, " ")}`, "");
  }
  const rows = membersOf(d).map(([sig, doc]) => `| \`${sig}\` | ${prose(firstSentence(doc))} |`);
  if (rows.length) out.push("| Member | |", "| --- | --- |", ...rows, "");
  for (const t of tags) if (t.kind === "example" && t.doc) out.push(exampleBlock(t.doc), "");
  return out;
}

/** The declaration's first line, as TypeScript. */
function signatureOf(name: string, d: Declaration): string {
  const def = d.def ?? {};
  const tps = typeParamsText(def.typeParams);
  switch (d.kind) {
    case "function":
      return `function ${name}${tps}(${paramsText(def.params)}): ${typeText(def.returnType)}`;
    case "class":
      return `class ${name}${tps}`;
    case "interface": {
      const ext = Array.isArray(def.extends) ? def.extends : [];
      const extended = ext.length ? ` extends ${ext.map(typeText).join(", ")}` : "";
      return `interface ${name}${tps}${extended}`;
    }
    case "typeAlias":
      return `type ${name}${tps} = ${typeText(def.tsType)}`;
    case "variable":
      return `const ${name}: ${typeText(def.tsType)}`;
    default:
      return `${d.kind} ${name}`;
  }
}

/** One row per public constructor, property and method: its signature and its doc. */
function membersOf(d: Declaration): [string, string][] {
  const def = d.def ?? {};
  const rows: [string, string][] = [];
  const visible = (m: Member) => m.accessibility !== "private" && m.accessibility !== "protected";
  for (const c of (def.constructors ?? []).filter(visible)) {
    rows.push([`new (${paramsText(c.params)})`, c.jsDoc?.doc ?? ""]);
  }
  for (const p of (def.properties ?? []).filter(visible)) {
    const mods = `${p.isStatic ? "static " : ""}${p.readonly ? "readonly " : ""}`;
    rows.push([
      `${mods}${p.name}${p.optional ? "?" : ""}: ${typeText(p.tsType)}`,
      p.jsDoc?.doc ?? "",
    ]);
  }
  for (const m of (def.methods ?? []).filter(visible)) {
    const fn = m.functionDef ?? { params: m.params ?? [], returnType: m.returnType };
    const statik = m.isStatic ? "static " : "";
    if (m.kind === "getter") {
      rows.push([`${statik}get ${m.name}: ${typeText(fn.returnType)}`, m.jsDoc?.doc ?? ""]);
    } else if (m.kind === "setter") {
      rows.push([`${statik}set ${m.name}(${paramsText(fn.params)})`, m.jsDoc?.doc ?? ""]);
    } else {
      const ret = fn.returnType ? `: ${typeText(fn.returnType)}` : "";
      const tps = typeParamsText(m.functionDef?.typeParams ?? m.typeParams);
      rows.push([
        `${statik}${m.name}${m.optional ? "?" : ""}${tps}(${paramsText(fn.params)})${ret}`,
        m.jsDoc?.doc ?? "",
      ]);
    }
  }
  for (const c of def.callSignatures ?? []) {
    rows.push([`(${paramsText(c.params)}): ${typeText(c.tsType)}`, c.jsDoc?.doc ?? ""]);
  }
  return rows.map(([sig, doc]) => [sig.replace(/\|/g, "\\|"), doc]);
}

/**
 * What `deno doc --json mod.ts` says.
 *
 * @returns The parsed output.
 * @throws {Error} When `deno doc` fails.
 */
export async function docJson(): Promise<DocJson> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", `${ROOT}/mod.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * The links of a markdown page that leave the repository: absolute URLs (but this
 * machine's, such as a local exporter's endpoint), and relative ones that climb above its
 * root.
 *
 * @param text The page.
 * @param pageDir The page's folder, relative to the repository's root (e.g. `"docs"`).
 * @returns The offending link targets.
 * @example
 * ```ts
 * outsideLinks("[a](../../x.md) [b](../mod.ts) [c](https://x.org)", "docs"); // ["../../x.md", "https://x.org"]
 * ```
 */
export function outsideLinks(text: string, pageDir: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)|\b(https?:\/\/[^\s)>\]`]+)/g)) {
    const target = m[1] ?? m[2];
    // An address on this machine (a local exporter's endpoint) is not a page elsewhere.
    if (/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])([:/]|$)/.test(target)) continue;
    if (/^[a-z]+:/i.test(target)) {
      out.push(target);
      continue;
    }
    if (target.startsWith("#")) continue;
    let depth = pageDir ? pageDir.split("/").length : 0;
    for (const part of target.split("#")[0].split("/")) {
      if (part === "..") depth--;
      else if (part && part !== ".") depth++;
      if (depth < 0) break;
    }
    if (depth < 0) out.push(target);
  }
  return [...new Set(out)];
}

/**
 * Markdown as `deno fmt` leaves it, so the generated page passes `deno fmt --check`.
 *
 * @param text The page.
 * @returns It formatted.
 * @throws {Error} When `deno fmt` fails.
 */
export async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", `${ROOT}/deno.json`, "--ext", "md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const text = await formatMarkdown(renderApi(await docJson()));
  if (Deno.args.includes("--check")) {
    let current = "";
    try {
      current = Deno.readTextFileSync(PAGE);
    } catch {
      // Missing: stale.
    }
    if (current !== text) {
      console.error("docs/api.md is out of date: run `deno run -A tools/api_doc.ts`");
      Deno.exit(1);
    }
  } else {
    Deno.writeTextFileSync(PAGE, text);
    console.log(`wrote docs/api.md (${text.split("\n").length} lines)`);
  }
}
