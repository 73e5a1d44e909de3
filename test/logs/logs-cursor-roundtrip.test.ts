import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CursorWriter, decodeCursor, encodeCursor, positionKey } from "../../src/provider/log-cursor.js";
import { Code, ProviderError } from "../../src/errors.js";

describe("Logs cursor", () => {
  it("round-trips every (allocation, stream) position", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uuid(), fc.boolean(), fc.nat({ max: 50 }), fc.maxSafeNat()), { maxLength: 10 }),
        (entries) => {
          const positions = new Map(entries.map(([a, out, file, off]) => [positionKey(a, out ? "stdout" : "stderr"), { file, off }]));
          expect(decodeCursor(encodeCursor(positions))).toEqual(positions);
        },
      ),
    );
  });

  it("is URL-safe and updates one entry without touching the others", () => {
    const w = new CursorWriter();
    w.set(positionKey("a1", "stdout"), { file: 0, off: 10 });
    w.set(positionKey("a2", "stderr"), { file: 1, off: 5 });
    w.set(positionKey("a1", "stdout"), { file: 0, off: 20 });
    const cursor = w.encode();
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(
      new Map([
        ["a1/stdout", { file: 0, off: 20 }],
        ["a2/stderr", { file: 1, off: 5 }],
      ]),
    );
  });

  it("advance() names the same positions as set() + encode() for any sequence of updates (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a/stdout", "a/stderr", "b/stdout"), fc.nat({ max: 5 }), fc.nat()), { minLength: 1, maxLength: 30 }), (updates) => {
        const fast = new CursorWriter();
        const slow = new CursorWriter();
        for (const [key, file, off] of updates) {
          slow.set(key, { file, off });
          expect(decodeCursor(fast.advance(key, { file, off }))).toEqual(decodeCursor(slow.encode()));
        }
      }),
    );
  });

  it.each([["not a cursor!"], [Buffer.from("{}").toString("base64url")], [Buffer.from('{"v":1,"p":[["a","o",-1,0]]}').toString("base64url")], ["x".repeat(70_000)]])(
    "rejects %s as INVALID_ARGUMENT on field cursor",
    (bad) => {
      let caught: unknown;
      try {
        decodeCursor(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProviderError);
      expect((caught as ProviderError).code).toBe(Code.InvalidArgument);
      expect((caught as ProviderError).message).toMatch(/^cursor: /);
    },
  );
});
