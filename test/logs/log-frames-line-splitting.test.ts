import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LineSplitter } from "../../src/nomad/line-splitter.js";

function splitAll(chunks: Buffer[], max?: number) {
  const s = new LineSplitter(max ? { maxLineBytes: max } : {});
  const lines = chunks.flatMap((c) => s.push(c));
  const last = s.flush();
  if (last) lines.push(last);
  return lines;
}

describe("splitting log bytes into lines", () => {
  it("joins a line split across frames and reports exact end positions", () => {
    const lines = splitAll([Buffer.from("531932\n5319"), Buffer.from("33\n531934\n531")]);
    expect(lines).toEqual([
      { text: "531932", end: 7 },
      { text: "531933", end: 14 },
      { text: "531934", end: 21 },
      { text: "531", end: 24 },
    ]);
  });

  it("decodes a multi-byte character split between chunks whole", () => {
    const bytes = Buffer.from("héllo wörld €\n");
    for (let cut = 1; cut < bytes.length; cut++) {
      const lines = splitAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(lines).toEqual([{ text: "héllo wörld €", end: bytes.length }]);
    }
  });

  it("replaces invalid UTF-8 with U+FFFD", () => {
    expect(splitAll([Buffer.from([0x61, 0xff, 0x62, 0x0a])])[0]!.text).toBe("a\uFFFDb");
  });

  it("keeps a line longer than a frame together", () => {
    const long = "y".repeat(200_000);
    const bytes = Buffer.from(long + "\nz\n");
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536));
    expect(splitAll(chunks).map((l) => l.text)).toEqual([long, "z"]);
  });

  it("cuts a line beyond the limit into pieces without losing bytes", () => {
    const lines = splitAll([Buffer.from("abcdefghij"), Buffer.from("klm\nn\n")], 4);
    expect(lines.map((l) => l.text)).toEqual(["abcd", "efgh", "ijkl", "m", "n"]);
    expect(lines.map((l) => l.end)).toEqual([4, 8, 12, 14, 16]);
  });

  it("yields the same lines for any chunking (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme" }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 8 }), (ls, cuts) => {
        const bytes = Buffer.from(ls.map((l) => l.replace(/\n/g, "") + "\n").join(""));
        const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of pts) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        chunks.push(bytes.subarray(prev));
        expect(splitAll(chunks).map((l) => l.text)).toEqual(ls.map((l) => l.replace(/\n/g, "")));
      }),
    );
  });
});
