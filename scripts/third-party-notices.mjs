// The licence texts of the npm packages an esbuild bundle inlines, from its metafile's input paths: each package's
// name, version and licence, then its LICENSE/NOTICE files verbatim, or (a package that ships none) the copyright
// lines of the files the bundle took from it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function thirdPartyNotices(inputs) {
  const packages = new Map();
  for (const file of inputs) {
    const match = /^(.*?node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (!match) continue;
    const dir = match[1];
    if (!packages.has(dir)) packages.set(dir, []);
    packages.get(dir).push(file);
  }
  const sections = [...packages]
    .map(([dir, files]) => {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      const legal = readdirSync(dir).filter((name) => /^(licen[cs]e|notice|copying)/i.test(name)).sort();
      const texts = legal.map((name) => readFileSync(join(dir, name), "utf8").trim());
      if (texts.length === 0) {
        const blocks = new Set(files.flatMap((f) => leadingComments(readFileSync(f, "utf8"))).filter((c) => /copyright/i.test(c)));
        texts.push([...blocks].join("\n\n") || "(the package ships no licence file and its bundled files name no copyright holder)");
      }
      return { name: pkg.name, text: `${pkg.name} ${pkg.version}, licence: ${pkg.license}\n\n${texts.join("\n\n")}\n` };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const rule = `\n${"-".repeat(100)}\n\n`;
  return `nomad-provider's bundled JavaScript includes code from these npm packages, under these licences:\n${rule}${sections.map((s) => s.text).join(rule)}`;
}

/** The comments a source file starts with (its licence header, where it has one), each as plain text: a run of
 * line comments is one, a block comment is one. */
function leadingComments(source) {
  const comments = [];
  let rest = source;
  for (;;) {
    const lines = /^(?:[ \t]*\/\/[^\n]*\n)+/.exec(rest);
    const block = lines ? null : /^[ \t]*\/\*[\s\S]*?\*\/[ \t]*\n/.exec(rest);
    const found = lines ?? block;
    if (!found) return comments;
    comments.push(uncomment(found[0]));
    rest = rest.slice(found[0].length).replace(/^\s*\n/, "");
  }
}

/** Comment text without its markers. */
function uncomment(comment) {
  return comment
    .split("\n")
    .map((line) => line.replace(/^\s*(?:\/\/|\/\*+|\*\/|\*)? ?/, "").replace(/\*\/\s*$/, "").trimEnd())
    .join("\n")
    .trim();
}
