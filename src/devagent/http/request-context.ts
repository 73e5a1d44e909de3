// What every route handler gets: the raw request/response plus the parts of the URL Nomad's agent parses for every
// call (namespace, region, token) and the path parameters the router extracted.

import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, HttpError } from "./http-error.js";

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  query: URLSearchParams;
  params: Record<string, string>;
  /** ?namespace= or "default". */
  namespace: string;
  /** X-Nomad-Token or Authorization: Bearer, "" when absent. */
  token: string;
}

const maxBody = 32 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) throw new HttpError(413, "Request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Decodes a JSON request body with the messages Go's decoder gives; Nomad answers these with 400. */
export async function readJson(req: IncomingMessage, options: { optional?: boolean } = {}): Promise<any> {
  const raw = await readBody(req);
  const text = raw.toString("utf8");
  if (text.trim() === "") {
    if (options.optional) return {};
    throw badRequest(raw.length === 0 ? "Request body is empty" : "EOF");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(goJsonSyntaxMessage(text, err));
  }
}

function goJsonSyntaxMessage(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/Unexpected end|unterminated|end of JSON/i.test(message)) return "unexpected EOF";
  const at = /position (\d+)/.exec(message);
  const ch = at ? text[Number(at[1])] : undefined;
  return ch !== undefined ? `invalid character '${ch}' looking for beginning of value` : "unexpected EOF";
}

export function tokenOf(req: IncomingMessage): string {
  const header = req.headers["x-nomad-token"];
  if (typeof header === "string" && header) return header;
  const auth = req.headers.authorization;
  if (typeof auth === "string" && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return "";
}
