// A caller's abort reaches Nomad: a request already sent is torn down (the server sees its connection close), and a
// request still waiting for a free connection fails at once and is never sent.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { Code, ProviderError } from "../../src/errors.js";
import { until } from "../helpers/dev-agent.js";

let server: Server;
let nomad: NomadHttp;
const received: string[] = [];
const closed: string[] = [];
const open = new Set<ServerResponse>();

/** Never answers: records each request and when its connection goes away. */
function hang(req: IncomingMessage, res: ServerResponse): void {
  received.push(req.url!);
  open.add(res);
  res.on("close", () => {
    open.delete(res);
    closed.push(req.url!);
  });
}

beforeAll(async () => {
  server = createServer(hang);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  // One connection: a second request waits in undici's queue while the first is in flight.
  nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dispatcher: new Agent({ connections: 1 }) });
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await nomad.close().catch(() => undefined);
  await new Promise((r) => server.close(r));
});

async function code(p: Promise<unknown>): Promise<Code> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return (err as ProviderError).code;
}

describe("NomadHttp cancellation", () => {
  it("tears down a request on the wire, and fails a queued one without sending it", async () => {
    const first = new AbortController();
    const queued = new AbortController();
    const onWire = nomad.request("GET", "/v1/first", { signal: first.signal });
    await until(async () => received.some((u) => u.startsWith("/v1/first")), "first request at the server");
    const waiting = nomad.request("GET", "/v1/queued", { signal: queued.signal });

    queued.abort();
    expect(await code(waiting)).toBe(Code.Canceled);

    first.abort();
    expect(await code(onWire)).toBe(Code.Canceled);
    await until(async () => closed.some((u) => u.startsWith("/v1/first")), "first request's connection closed at the server");
    // The queued request had its turn once the connection was free, and was dropped instead of sent.
    const last = new AbortController();
    const later = nomad.request("GET", "/v1/later", { signal: last.signal });
    await until(async () => received.some((u) => u.startsWith("/v1/later")), "a later request at the server");
    last.abort();
    expect(await code(later)).toBe(Code.Canceled);
    expect(received.filter((u) => u.startsWith("/v1/queued"))).toEqual([]);
  });
});
