// Batch mode sends lines as blocks ("line\n" after "line\n"); a block must hold exactly the lines single-line mode
// would send, cut at the same places, with the same replacement of invalid UTF-8, and end at a line's exact position.
import { isUtf8 } from "node:buffer";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LineSplitter, type LineBlock, type SplitLine } from "../../src/nomad/line-splitter.js";

function asLines(chunks: Buffer[], maxLineBytes: number): SplitLine[] {
  const s = new LineSplitter({ maxLineBytes });
  const lines = chunks.flatMap((c) => s.push(c));
  const last = s.flush();
  if (last) lines.push(last);
  return lines;
}

function asBlocks(chunks: Buffer[], maxLineBytes: number, maxBlockBytes: number): LineBlock[] {
  const s = new LineSplitter({ maxLineBytes });
  const blocks = chunks.flatMap((c) => s.pushBlocks(c, maxBlockBytes));
  const last = s.flushBlock();
  if (last) blocks.push(last);
  return blocks;
}

/** Bytes rich in newlines, multi-byte characters and invalid sequences. */
const logBytes = fc.array(
  fc.oneof(
    { arbitrary: fc.constant(Buffer.from("\n")), weight: 3 },
    { arbitrary: fc.constantFrom(Buffer.from("é"), Buffer.from("€"), Buffer.from([0xff]), Buffer.from([0xe2, 0x82])), weight: 1 },
    { arbitrary: fc.string({ maxLength: 12 }).map((s) => Buffer.from(s)), weight: 3 },
  ),
  { maxLength: 60 },
);

describe("splitting log bytes into blocks of lines", () => {
  it("blocks hold exactly the lines of line mode, in order, ending at their positions and within the size limit", () => {
    fc.assert(
      fc.property(logBytes, fc.array(fc.nat(40), { maxLength: 8 }), fc.oneof(fc.integer({ min: 1, max: 24 }), fc.constant(1 << 20)), fc.integer({ min: 1, max: 64 }), (pieces, cuts, maxLine, maxBlock) => {
        const bytes = Buffer.concat(pieces);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((p, i, all) => bytes.subarray(p, all[i + 1] ?? bytes.length));
        const lines = asLines(chunks, maxLine);
        const blocks = asBlocks(chunks, maxLine, maxBlock);
        const blockLines: string[] = [];
        const ends = new Set(lines.map((l) => l.end));
        for (const b of blocks) {
          expect(b.data.at(-1)).toBe(0x0a);
          expect(isUtf8(b.data)).toBe(true);
          const texts = b.data.toString("utf8").slice(0, -1).split("\n");
          // Over the limit only when the block is a single line.
          if (b.data.length > maxBlock) expect(texts.length).toBe(1);
          blockLines.push(...texts);
          expect(ends.has(b.end)).toBe(true);
        }
        expect(blockLines).toEqual(lines.map((l) => l.text));
        expect(blocks.at(-1)?.end).toBe(lines.at(-1)?.end);
      }),
      { numRuns: 500 },
    );
  });

  it("a block of valid lines is the input bytes themselves, and nothing is sent before a line is complete", () => {
    const s = new LineSplitter();
    expect(s.pushBlocks(Buffer.from("partial"), 1024)).toEqual([]);
    const own = new TextEncoder().encode(" line\nnext\nmore\nrest");
    const input = Buffer.from(own.buffer, own.byteOffset, own.byteLength); // its own memory, not Buffer's shared pool
    const blocks = s.pushBlocks(input, 1024);
    // The held-back start joins its line; the lines after it are a view of the input, not a copy.
    expect(blocks.map((b) => [b.data.toString(), b.end])).toEqual([["partial line\n", 13], ["next\nmore\n", 23]]);
    expect(blocks[1]!.data.buffer).toBe(input.buffer);
    expect(s.flushBlock()).toEqual({ data: Buffer.from("rest\n"), end: 27 });
  });

  it("replaces invalid UTF-8 with U+FFFD line by line, as line mode does", () => {
    const s = new LineSplitter();
    const [block] = s.pushBlocks(Buffer.from([0x61, 0xe2, 0x82, 0x0a, 0xff, 0x62, 0x0a]), 1024);
    expect(block!.data.toString()).toBe("a\uFFFD\n\uFFFDb\n");
    expect(block!.end).toBe(7);
  });
});
