// A token with read-logs but not read-fs (Nomad's fs/ls answers it 403 "Permission denied") still reads a rotated log
// from a position in a later file: the read counts positions from the start of the oldest file instead of taking
// sizes from fs/ls, and delivers exactly the bytes from that position. (The dev agent does not rotate logs, so this
// runs against a fake of Nomad's fs endpoints.)

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { readLog, type LogChunk } from "../../src/nomad/logs.js";

const lines = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `line ${from + i}\n`).join(""));
let server: Server | undefined;
let nomad: NomadHttp | undefined;
afterEach(async () => {
  await nomad?.close();
  await new Promise((r) => server?.close(r));
});

async function fakeNomad(files: Buffer[], requests: string[]): Promise<NomadHttp> {
  server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(url.pathname.split("/").slice(0, 5).join("/"));
    if (url.pathname.startsWith("/v1/client/fs/ls/")) {
      res.writeHead(403, { "content-type": "text/plain" });
      return res.end("Permission denied");
    }
    let offset = Number(url.searchParams.get("offset") ?? 0);
    let index = 0;
    while (index < files.length - 1 && offset >= files[index]!.length) offset -= files[index++]!.length;
    res.writeHead(200, { "content-type": "application/json" });
    for (; index < files.length; index++, offset = 0) {
      for (let pos = offset; pos < files[index]!.length; ) {
        const data = files[index]!.subarray(pos, pos + 700);
        pos += data.length;
        res.write(JSON.stringify({ Offset: pos, Data: data.toString("base64"), File: `alloc/logs/web.stdout.${index}` }));
      }
    }
    res.end();
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  nomad = new NomadHttp({ address: `http://127.0.0.1:${(server!.address() as AddressInfo).port}` });
  return nomad;
}

describe("rotated logs without read-fs", () => {
  it("reads from a position in a later file exactly, though fs/ls is refused", async () => {
    const files = [lines(1, 1000), lines(1001, 1000), lines(2001, 500)];
    const requests: string[] = [];
    const n = await fakeNomad(files, requests);
    const chunks: LogChunk[] = [];
    for await (const c of readLog(n, "a1", { position: { file: 1, off: 1234 } }, { task: "web", type: "stdout", follow: false, retryDelayMs: 1 })) chunks.push(c);
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.concat([files[1]!.subarray(1234), files[2]!]))).toBe(true);
    expect(chunks[0]!.start).toEqual({ file: 1, off: 1234 });
    expect(chunks.at(-1)!.end).toEqual({ file: 2, off: files[2]!.length });
    expect(requests).toEqual(["/v1/client/fs/ls", "/v1/client/fs/logs"]);
  });
});
