import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LogFrameDecoder, decodeLogFrames, isHeartbeat, type LogFrame } from "../../src/nomad/log-frames.js";
import { ProviderError, Code } from "../../src/errors.js";

const wire = readFileSync(new URL("../fixtures/nomad/GET_v1_client_fs_logs_ID.wire.derived.txt", import.meta.url));

function decodeAll(chunks: Buffer[]): LogFrame[] {
  const d = new LogFrameDecoder();
  const out = chunks.flatMap((c) => d.push(c));
  expect(d.midFrame).toBe(false);
  return out;
}

function expectFixtureFrames(frames: LogFrame[]): void {
  expect(frames).toHaveLength(3);
  expect(frames[0]!.data.toString()).toBe("531932\n531933\n531934\n531");
  expect(frames[0]!.offset).toBe(3604480);
  expect(frames[0]!.file).toBe("alloc/logs/redis.stdout.0");
  expect(isHeartbeat(frames[1]!)).toBe(true);
  expect(frames[2]!.fileEvent).toBe("file deleted");
  expect(frames[2]!.data.length).toBe(0);
  expect(isHeartbeat(frames[2]!)).toBe(false);
}

describe("Nomad log frame decoding", () => {
  it("decodes the fixture wire bytes in one chunk: data, heartbeat, file event", () => {
    expectFixtureFrames(decodeAll([wire]));
  });

  it("decodes the fixture split at every offset", () => {
    for (let cut = 1; cut < wire.length; cut++) {
      expectFixtureFrames(decodeAll([wire.subarray(0, cut), wire.subarray(cut)]));
    }
  });

  it("decodes the fixture fed byte by byte", () => {
    const bytes = [...wire].map((b) => Buffer.from([b]));
    expectFixtureFrames(decodeAll(bytes));
  });

  it("keeps arbitrary binary data intact across random chunkings (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }),
        (datas, cuts) => {
          const body = Buffer.from(
            datas
              .map((d, i) =>
                d.length === 0 ? "{}" : JSON.stringify({ Offset: i + 1, Data: Buffer.from(d).toString("base64"), File: `alloc/logs/t\"x.stdout.${i}` }),
              )
              .join(""),
          );
          const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(body.subarray(prev, p));
            prev = p;
          }
          chunks.push(body.subarray(prev));
          const frames = decodeAll(chunks);
          expect(frames.map((f) => Buffer.from(f.data))).toEqual(datas.map((d) => Buffer.from(d)));
          frames.forEach((f, i) => {
            if (datas[i]!.length > 0) expect(f.file).toBe(`alloc/logs/t"x.stdout.${i}`);
          });
        },
      ),
    );
  });

  it("decodes a 64 KiB frame arriving in small network chunks", async () => {
    const data = Buffer.alloc(64 * 1024, "x");
    const body = Buffer.from(JSON.stringify({ Offset: 65536, Data: data.toString("base64"), File: "alloc/logs/a.stdout.0" }) + "{}");
    async function* chunks() {
      for (let i = 0; i < body.length; i += 1000) yield body.subarray(i, i + 1000);
    }
    const frames: LogFrame[] = [];
    for await (const f of decodeLogFrames(chunks())) frames.push(f);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.data.equals(data)).toBe(true);
  });

  it("reports a truncated frame at the end of the stream as UNAVAILABLE", async () => {
    async function* chunks() {
      yield wire.subarray(0, 20);
    }
    const consume = async () => {
      for await (const _ of decodeLogFrames(chunks())) void _;
    };
    await expect(consume()).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("rejects garbage and oversized frames instead of buffering them", () => {
    expect(() => new LogFrameDecoder().push(Buffer.from("Permission denied"))).toThrow(ProviderError);
    const d = new LogFrameDecoder({ maxFrameBytes: 1024 });
    expect(() => {
      d.push(Buffer.from('{"Data":"'));
      for (let i = 0; i < 10; i++) d.push(Buffer.alloc(200, "A"));
    }).toThrow(/larger than 1024/);
  });
});
