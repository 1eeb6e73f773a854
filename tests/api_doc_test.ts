// The public docs: mod.ts passes `deno doc --lint`, docs/api.md is what tools/api_doc.ts makes
// of mod.ts today, and the README and docs/ link only inside the repository.
import { assert, assertEquals } from "./assert.ts";
import { ROOT } from "./helpers.ts";
import {
  anchorOf,
  docJson,
  firstSentence,
  formatMarkdown,
  headingOf,
  outsideLinks,
  renderApi,
  typeText,
} from "../tools/api_doc.ts";

Deno.test("deno doc --lint mod.ts finds nothing: every public type exported and documented", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", `${ROOT}/mod.ts`],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
});

Deno.test("docs/api.md is up to date with mod.ts (deno run -A tools/api_doc.ts rewrites it)", async () => {
  const doc = await docJson();
  const want = await formatMarkdown(renderApi(doc));
  const have = Deno.readTextFileSync(`${ROOT}/docs/api.md`);
  assert(have === want, "docs/api.md is stale: run `deno run -A tools/api_doc.ts`");
  // Every export has its heading, and every in-page link has its target.
  const anchors = new Set([...have.matchAll(/^#+ (.*)$/gm)].map((m) => anchorOf(m[1])));
  for (const node of Object.values(doc.nodes)) {
    for (const s of node.symbols ?? []) assert(anchors.has(anchorOf(headingOf(s))), s.name);
  }
  const missing = [...have.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]).filter((a) =>
    !anchors.has(a)
  );
  assertEquals(missing, []);
});

Deno.test("README.md and docs/ link only inside the repository, to files that exist", () => {
  const pages = [
    "README.md",
    ...[...Deno.readDirSync(`${ROOT}/docs`)].map((e) => `docs/${e.name}`),
  ];
  for (const page of pages.filter((p) => p.endsWith(".md"))) {
    const text = Deno.readTextFileSync(`${ROOT}/${page}`);
    const dir = page.includes("/") ? page.slice(0, page.lastIndexOf("/")) : "";
    assertEquals(outsideLinks(text, dir), [], `${page} links outside the repository`);
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/i.test(m[1])) continue;
      const path = `${ROOT}/${dir ? `${dir}/` : ""}${m[1]}`;
      assert(exists(path), `${page} links to ${m[1]}, which does not exist`);
    }
  }
});

Deno.test("api_doc: types, sentences, anchors and outside links", () => {
  assertEquals(
    typeText({
      kind: "union",
      value: [{ kind: "keyword", value: "string" }, {
        kind: "array",
        value: { kind: "typeRef", value: { typeName: "Btf", typeParams: [] } },
      }],
    }),
    "string | Btf[]",
  );
  assertEquals(firstSentence("The op, e.g. `load`. More.\n\nNext."), "The op, e.g. `load`.");
  assertEquals(firstSentence("One line for a shell:\n```\nx\n```"), "One line for a shell:");
  assertEquals(anchorOf("function tracePipe"), "function-tracepipe");
  assertEquals(outsideLinks("[a](../x.md) [b](../../y.md) <https://e.org>", "docs"), [
    "../../y.md",
    "https://e.org",
  ]);
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
