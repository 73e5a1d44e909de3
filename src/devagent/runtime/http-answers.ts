// How Nomad's HTTP layer writes an error: the status code and the bare message as the body (no JSON, no
// newline). Headers already set by the handler (e.g. the logs endpoint's Content-Type) are kept; otherwise Go
// sniffs text/plain.

import { STATUS_CODES, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

export function writeError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (!res.hasHeader("Content-Type")) res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(message));
  res.writeHead(status);
  res.end(message);
}

export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Go's strconv.ParseBool. */
export function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return undefined;
}

/** An HTTP error written straight onto an upgrade socket (before any WebSocket handshake). */
export function writeRawHttpError(socket: Duplex, status: number, message: string): void {
  const reason = STATUS_CODES[status] ?? "Error";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
  );
}
