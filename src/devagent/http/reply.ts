// Writing answers the way Nomad's agent writes them: JSON via application/json, errors as plain text without a
// trailing newline, and the query meta headers on reads (X-Nomad-Index, X-Nomad-KnownLeader, X-Nomad-LastContact).

import type { ServerResponse } from "node:http";

export function setIndex(res: ServerResponse, index: number): void {
  res.setHeader("X-Nomad-Index", String(index));
}

/** The single-node agent is always its own leader, so contact is 0 ms and the leader is known. */
export function setQueryMeta(res: ServerResponse, index: number): void {
  setIndex(res, index);
  res.setHeader("X-Nomad-LastContact", "0");
  res.setHeader("X-Nomad-KnownLeader", "true");
}

export function sendJson(res: ServerResponse, body: unknown, status = 200, pretty = false): void {
  const text = pretty ? JSON.stringify(body, null, 4) + "\n" : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/** Errors: Go sniffs the plain-text body, so it is served as text/plain; charset=utf-8. */
export function sendText(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  if (!res.hasHeader("Content-Type")) res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

/** A handler that returns nothing (Nomad's wrap writes no body): 200, empty, no Content-Type, no index headers. */
export function sendEmpty(res: ServerResponse): void {
  res.statusCode = 200;
  res.setHeader("Content-Length", 0);
  res.end();
}
