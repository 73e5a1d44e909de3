// Test helper: an HTTP proxy in front of a dev agent that records what crossed it, request by request (method, path
// with query, status, response bytes, and the body of answers up to 4 MiB), as an operator watching the traffic
// between the plugin and Nomad would see it. Streams (the event stream) pass through as they come.

import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Exchange {
  method: string;
  /** Path and query as sent, e.g. "/v1/allocations?resources=true&filter=...". */
  url: string;
  status: number;
  bytes: number;
  /** The answer's text when it ended within 4 MiB (undefined while it streams or when larger). */
  body: string | undefined;
}

export interface RecordingProxy {
  address: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

const keepLimit = 4 << 20;

export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const exchanges: Exchange[] = [];
  const server: Server = createServer((req, res) => {
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const exchange: Exchange = { method: req.method ?? "", url: req.url ?? "", status: up.statusCode ?? 0, bytes: 0, body: undefined };
      exchanges.push(exchange);
      const chunks: Buffer[] = [];
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on("data", (chunk: Buffer) => {
        exchange.bytes += chunk.length;
        if (exchange.bytes <= keepLimit) chunks.push(chunk);
      });
      up.on("end", () => {
        if (exchange.bytes <= keepLimit) exchange.body = Buffer.concat(chunks).toString();
      });
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
