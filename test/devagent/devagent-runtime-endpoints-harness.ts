// Mounts the runtime's client endpoints on a throwaway node:http server (port 0) for one runner.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClientEndpoints } from "../../src/devagent/runtime/client-endpoints.js";
import type { AllocRunner } from "../../src/devagent/alloc-runtime.js";

export async function serveEndpoints(runner: AllocRunner, options: { logHeartbeatMs?: number } = {}): Promise<{ base: string; server: Server; close(): Promise<void> }> {
  const endpoints = createClientEndpoints(options);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname.startsWith("/v1/client/fs/logs/")) return void endpoints.logs(req, res, runner, url.searchParams);
    if (url.pathname.endsWith("/stats")) return void endpoints.stats(req, res, runner);
    res.writeHead(404).end();
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    endpoints.execUpgrade(req, socket, head, runner, url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
