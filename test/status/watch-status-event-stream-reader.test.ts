import { afterEach, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { followEventStream, ndjson, readEventStream, type StreamNotice } from "../../src/nomad/event-stream.js";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { Code, ProviderError } from "../../src/errors.js";

let server: Server | undefined;
let nomad: NomadHttp | undefined;

afterEach(async () => {
  await nomad?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ urls: URL[] }> {
  const urls: URL[] = [];
  server = createServer((req, res) => {
    urls.push(new URL(req.url!, "http://x"));
    handler(req, res, urls.length);
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, namespace: "apps" });
  return { urls };
}

async function* chunks(parts: Uint8Array[]) {
  yield* parts;
}

const line = (index: number, key = `cp-${index}`) =>
  JSON.stringify({ Index: index, Events: [{ Topic: "Job", Type: "JobRegistered", Key: key, Namespace: "apps", Index: index, Payload: {} }] }) + "\n";

describe("event stream reader", () => {
  it("decodes NDJSON however the bytes are split, including inside a multi-byte character", async () => {
    const text = '{}\n{"Index":1,"Events":[{"Key":"é✓"}]}\n\n{"Index":2}';
    const bytes = new TextEncoder().encode(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const values: unknown[] = [];
      for await (const v of ndjson(chunks([bytes.slice(0, cut), bytes.slice(cut)]))) values.push(v);
      expect(values).toEqual([{}, { Index: 1, Events: [{ Key: "é✓" }] }, { Index: 2 }]);
    }
  });

  it("asks for the topics in the namespace, skips heartbeats and yields each batch", async () => {
    const { urls } = await serve((_req, res) => {
      res.write("{}\n");
      res.write(line(3));
      res.end(line(4));
    });
    const items = [];
    for await (const item of readEventStream(nomad!, { topics: ["Job:*", "Allocation:*"] })) items.push(item);
    expect(items.map((i) => ("heartbeat" in i ? "hb" : i.index))).toEqual(["hb", 3, 4]);
    expect(urls[0]!.pathname).toBe("/v1/event/stream");
    expect(urls[0]!.searchParams.getAll("topic")).toEqual(["Job:*", "Allocation:*"]);
    expect(urls[0]!.searchParams.get("namespace")).toBe("apps");
  });

  it("fails UNAVAILABLE when the stream goes silent past the heartbeat window", async () => {
    await serve((_req, res) => res.write("{}\n"));
    const read = async () => {
      for await (const _ of readEventStream(nomad!, { topics: ["Job:*"], idleTimeoutMs: 150 }));
    };
    await expect(read()).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("reconnects after a drop from the last index and delivers every index exactly once", async () => {
    const { urls } = await serve((_req, res, n) => {
      res.write("{}\n");
      if (n === 1) {
        res.write(line(5));
        res.write(line(6));
        setImmediate(() => res.destroy());
      } else {
        // The server resumes inclusively: index 6 comes again and must not be delivered twice.
        res.write(line(6));
        res.write(line(7));
      }
    });
    const controller = new AbortController();
    const seen: number[] = [];
    const notices: StreamNotice["kind"][] = [];
    for await (const notice of followEventStream(nomad!, { topics: ["Job:*"], signal: controller.signal, minBackoffMs: 10 })) {
      notices.push(notice.kind);
      if (notice.kind === "batch") seen.push(notice.batch.index);
      if (seen.includes(7)) controller.abort();
    }
    expect(seen).toEqual([5, 6, 7]);
    expect(notices.filter((k) => k === "connected")).toHaveLength(2);
    expect(notices).toContain("down");
    expect(urls[0]!.searchParams.get("index")).toBeNull();
    expect(urls[1]!.searchParams.get("index")).toBe("6");
  });

  it("gives up on errors reconnecting cannot fix (no event stream on the agent)", async () => {
    await serve((_req, res) => {
      res.statusCode = 404;
      res.end("Invalid URL");
    });
    const follow = async () => {
      for await (const _ of followEventStream(nomad!, { topics: ["Job:*"], minBackoffMs: 10 }));
    };
    const err = await follow().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe(Code.NotFound);
  });
});
