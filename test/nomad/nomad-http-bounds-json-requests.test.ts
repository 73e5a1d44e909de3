// No JSON request to Nomad can hang forever, whatever its caller passed: a Nomad that never answers, or stops in the
// middle of a body, is DEADLINE_EXCEEDED after the transport's bound. A blocking query may be held for its wait on top
// of that bound, and a stream (logs, events) is never cut by it: only its caller's signal ends it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { Code, ProviderError } from "../../src/errors.js";

const boundMs = 300;
/** undici's timers tick about twice a second, so a bound fires up to ~1 s late; "well past the bound" is this. */
const wellPastMs = 2500;
let server: Server;
let nomad: NomadHttp;
const open = new Set<ServerResponse>();

/** /silent never answers; /stall sends headers and half a body; /held answers after holdMs; /trickle streams slowly. */
function route(req: IncomingMessage, res: ServerResponse): void {
  open.add(res);
  res.on("close", () => open.delete(res));
  const url = new URL(req.url!, "http://x");
  if (url.pathname === "/v1/silent") return;
  if (url.pathname === "/v1/stall") {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    res.write('{"ID":');
    return;
  }
  if (url.pathname === "/v1/held") {
    setTimeout(() => res.writeHead(200, { "content-type": "application/json", "x-nomad-index": "7" }).end('{"ok":true}'), Number(url.searchParams.get("holdMs")));
    return;
  }
  if (url.pathname === "/v1/trickle") {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.write("first\n");
    setTimeout(() => res.end("second\n"), wellPastMs);
    return;
  }
  res.writeHead(404).end("no such route");
}

beforeAll(async () => {
  server = createServer(route);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, defaultTimeoutMs: boundMs, token: "s3cret-token" });
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await nomad.close();
  await new Promise((r) => server.close(r));
});

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

// Independent requests to independent routes: run side by side so the file takes seconds, not their sum.
describe.concurrent("NomadHttp bounds JSON requests", () => {
  it("a Nomad that never answers is DEADLINE_EXCEEDED, also when the caller's signal has no deadline", async () => {
    const caller = new AbortController();
    const err = await failure(nomad.request("GET", "/v1/silent", { signal: caller.signal, what: "read silent" }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.message).toContain("read silent");
    expect(err.message).not.toContain("s3cret-token");
    expect(caller.signal.aborted).toBe(false);
  });

  it("a body that stops half-way is DEADLINE_EXCEEDED", async () => {
    const err = await failure(nomad.request("GET", "/v1/stall"));
    expect(err.code).toBe(Code.DeadlineExceeded);
  });

  it("a blocking query may be held for its wait beyond the bound", async () => {
    const holdMs = wellPastMs;
    const [held, unheld] = await Promise.all([
      nomad.request<{ ok: boolean }>("GET", "/v1/held", { query: { holdMs, index: "6", wait: `${2 * holdMs}ms` } }),
      failure(nomad.request("GET", "/v1/held", { query: { holdMs } })),
    ]);
    expect(held.body).toEqual({ ok: true });
    expect(held.index).toBe(7n);
    expect(unheld.code).toBe(Code.DeadlineExceeded);
  });

  it("the caller's signal still cancels before the bound", async () => {
    const caller = new AbortController();
    const pending = nomad.request("GET", "/v1/silent", { signal: caller.signal });
    caller.abort();
    expect((await failure(pending)).code).toBe(Code.Canceled);
  });

  it("a stream idle for longer than the bound is not cut", async () => {
    const { body } = await nomad.stream("GET", "/v1/trickle");
    let text = "";
    for await (const chunk of body) text += String(chunk);
    expect(text).toBe("first\nsecond\n");
  });
});
