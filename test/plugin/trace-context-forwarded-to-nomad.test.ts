// A host instrumented with OpenTelemetry sends `traceparent` (and `tracestate`) with each gRPC call; every Nomad
// request that call makes carries them, so Nomad's side of the work joins the caller's trace. An invalid traceparent
// is dropped (with its tracestate), never forwarded.

import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTraceContext } from "../../src/trace-context.js";
import { createLogger } from "../../src/log.js";
import { families } from "../../src/provider/families.js";
import { useDevAgent } from "../helpers/dev-agent.js";
import { startInProcessProvider, type InProcessProvider } from "../helpers/in-process-provider.js";
import { threeServiceRequest } from "../helpers/lifecycle-fixtures.js";

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

describe("parsing the W3C traceparent", () => {
  it("accepts version 00 and later versions, drops what the spec forbids", () => {
    expect(parseTraceContext(traceparent, tracestate)).toEqual({ traceparent, tracestate, traceId: "0af7651916cd43dd8448eb211c80319c" });
    expect(parseTraceContext("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future", undefined)?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    for (const bad of [
      "00-00000000000000000000000000000000-b7ad6b7169203331-01", // zero trace id
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // zero parent id
      "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", // upper case
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // version ff
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", // version 00 has four fields
      "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01", // short trace id
      "garbage",
    ]) {
      expect(parseTraceContext(bad, tracestate), bad).toBeUndefined();
    }
    expect(parseTraceContext(traceparent, "not a list member")?.tracestate).toBeUndefined();
  });
});

// A proxy between the plugin and the dev agent that records each request's trace headers.
interface Seen {
  path: string;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

const agent = useDevAgent();
let proxy: Server;
let proxyAddress = "";
const seen: Seen[] = [];
const logLines: Record<string, unknown>[] = [];
let provider: InProcessProvider;

beforeAll(async () => {
  proxy = createServer((req, res) => {
    const headers: IncomingHttpHeaders = req.headers;
    seen.push({ path: req.url ?? "", traceparent: headers.traceparent as string | undefined, tracestate: headers.tracestate as string | undefined });
    const target = new URL(req.url ?? "/", agent().address);
    const upstream = request(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyAddress = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const log = createLogger({ level: "info", write: (line) => logLines.push(JSON.parse(line)) });
  provider = await startInProcessProvider({ nomadAddress: proxyAddress, families, log });
});
afterAll(async () => {
  await provider?.close();
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
});

describe("trace context on Nomad requests", () => {
  it("forwards the call's traceparent and tracestate on every Nomad request of Provision, Status and HealthCheck", async () => {
    const metadata = { traceparent, tracestate };
    seen.length = 0;
    await provider.client.provision(threeServiceRequest("traced"), { metadata, deadlineMs: 30_000 });
    // uncached: the read a Status makes itself (the shared instance cache's stream serves many calls, so no one's trace).
    await provider.client.status({ instanceId: "traced", uncached: true }, { metadata });
    await provider.client.healthCheck({}, { metadata });
    const paths = seen.map((s) => s.path);
    expect(paths.some((p) => p.startsWith("/v1/jobs"))).toBe(true);
    expect(paths.some((p) => p.startsWith("/v1/acl/token/self"))).toBe(true);
    expect(seen.filter((s) => s.traceparent !== traceparent || s.tracestate !== tracestate)).toEqual([]);
    // The call's own log lines carry its trace id.
    expect(logLines.find((l) => l["@message"] === "job registered")).toMatchObject({ job_id: "cp-traced", trace_id: "0af7651916cd43dd8448eb211c80319c" });
  });

  it("forwards nothing for a call without one, or with an invalid one", async () => {
    seen.length = 0;
    await provider.client.status({ instanceId: "traced", uncached: true });
    await provider.client.status({ instanceId: "traced", uncached: true }, { metadata: { traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01", tracestate } });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.traceparent !== undefined || s.tracestate !== undefined)).toEqual([]);
  });
});
