// /v1/client/fs/ls|stat|cat|readat/:alloc: the allocation directory as Nomad's client serves it
// (command/agent/fs_endpoint.go, client/fs_endpoint.go, client/allocdir/alloc_dir.go). Paths are relative to the
// allocation directory; errors carry Go's os error texts and the status Nomad gives them: ls/stat answer 404 for a
// missing file and 500 otherwise, cat/readat (the stream RPC) answer 400 for any stat failure or a directory.

import { closeSync, lstatSync, openSync, readdirSync, readSync, statSync, type Stats } from "node:fs";
import { join, relative, isAbsolute } from "node:path";
import { HttpError } from "../http/http-error.js";
import { sendJson } from "../http/reply.js";
import type { Router } from "../http/router.js";
import { runnerFor } from "./client-routes.js";
import type { RouteDeps } from "./route-deps.js";

/** Go's FileMode.String(): the type letter (or "-") and the nine permission bits. */
export function goFileMode(st: Stats): string {
  const type = st.isDirectory() ? "d" : st.isSymbolicLink() ? "L" : st.isFIFO() ? "p" : st.isSocket() ? "S" : st.isCharacterDevice() ? "Dc" : st.isBlockDevice() ? "D" : "";
  const rwx = "rwxrwxrwx";
  let perm = "";
  for (let i = 0; i < 9; i++) perm += st.mode & (1 << (8 - i)) ? rwx[i] : "-";
  return (type || "-") + perm;
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped) in UTC. */
function goTime(st: Stats): string {
  const ns = BigInt(Math.round(st.mtimeMs * 1e6));
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return new Date(Number(secs) * 1000).toISOString().replace(/\.\d{3}Z$/, (frac ? `.${frac}` : "") + "Z");
}

/** Go's http.DetectContentType for the cases an allocation directory holds (text or binary); .json is JSON. */
export function detectContentType(path: string, st: Stats): string {
  let type = "application/octet-stream";
  if (!st.isDirectory()) {
    try {
      const fd = openSync(path, "r");
      const buf = Buffer.alloc(512);
      const n = readSync(fd, buf, 0, 512, 0);
      closeSync(fd);
      if (n > 0) type = sniff(buf.subarray(0, n));
    } catch {
      // best effort, as Nomad
    }
  }
  return path.endsWith(".json") ? "application/json" : type;
}

function sniff(b: Buffer): string {
  for (const c of b) if (c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f)) return "application/octet-stream";
  return "text/plain; charset=utf-8";
}

function goOsError(op: string, path: string, err: NodeJS.ErrnoException): string {
  const text: Record<string, string> = {
    ENOENT: "no such file or directory",
    ENOTDIR: "not a directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
  };
  return `${op} ${path}: ${text[err.code ?? ""] ?? err.message}`;
}

/** The absolute path inside the allocation directory, or Nomad's refusal when it escapes it. */
function inAllocDir(allocDir: string, path: string): string {
  const full = join(allocDir, path);
  const rel = relative(allocDir, full);
  if (rel.startsWith("..") || isAbsolute(rel)) throw new HttpError(500, "Path escapes the alloc directory");
  return full;
}

function fileInfo(name: string, st: Stats): Record<string, unknown> {
  return { Name: name, IsDir: st.isDirectory(), Size: st.size, FileMode: goFileMode(st), ModTime: goTime(st) };
}

const fileNameMissing = () => new HttpError(400, "must provide a file name");

export function registerFsRoutes(router: Router, deps: RouteDeps): void {
  router.add("GET", "/v1/client/fs/ls/:id", (ctx) => {
    const runner = runnerFor(deps, ctx.params.id!);
    const full = inAllocDir(runner.allocDir, ctx.query.get("path") || "/");
    let names: string[];
    try {
      names = readdirSync(full).sort();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const op = e.code === "ENOTDIR" ? "readdirent" : "open";
      throw new HttpError(e.code === "ENOENT" ? 404 : 500, goOsError(op, full, e));
    }
    const files = names.map((n) => fileInfo(n, lstatSync(join(full, n), { bigint: false })));
    sendJson(ctx.res, files);
  });
  router.add("GET", "/v1/client/fs/stat/:id", (ctx) => {
    const path = ctx.query.get("path");
    if (!path) throw fileNameMissing();
    const runner = runnerFor(deps, ctx.params.id!);
    const full = inAllocDir(runner.allocDir, path);
    const st = statOrThrow(full, 404, 500);
    sendJson(ctx.res, { ...fileInfo(nameOf(full, runner.allocDir), st), ContentType: detectContentType(full, st) });
  });
  router.add("GET", "/v1/client/fs/cat/:id", (ctx) => {
    const path = ctx.query.get("path");
    if (!path) throw fileNameMissing();
    sendFileRange(ctx.res, deps, ctx.params.id!, path, 0, 0);
  });
  router.add("GET", "/v1/client/fs/readat/:id", (ctx) => {
    const path = ctx.query.get("path");
    if (!path) throw fileNameMissing();
    const offset = goParseInt(ctx.query.get("offset") ?? "", "offset");
    const limitText = ctx.query.get("limit");
    const limit = limitText ? goParseInt(limitText, "limit") : 0;
    sendFileRange(ctx.res, deps, ctx.params.id!, path, offset, limit);
  });
}

/** Go's filepath.Base of the joined path (the allocation directory itself is named by its last element). */
function nameOf(full: string, allocDir: string): string {
  const base = (full === allocDir ? allocDir : full).replace(/\/+$/, "").split("/").pop();
  return base || "/";
}

function statOrThrow(full: string, missing: number, other: number, stats = statSync): Stats {
  try {
    return stats(full);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HttpError(e.code === "ENOENT" ? missing : other, goOsError("stat", full, e));
  }
}

function goParseInt(text: string, name: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new HttpError(500, `error parsing ${name}: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  return Number(text);
}

/** cat and readat: the stream RPC in plain text from `offset` for `limit` bytes (0: to the end). */
function sendFileRange(res: import("node:http").ServerResponse, deps: RouteDeps, allocId: string, path: string, offset: number, limit: number): void {
  const runner = runnerFor(deps, allocId);
  const full = inAllocDir(runner.allocDir, path);
  const st = statOrThrow(full, 400, 400);
  if (st.isDirectory()) throw new HttpError(400, `file ${JSON.stringify(path)} is a directory`);
  const start = Math.max(0, Math.min(offset, st.size));
  const end = limit > 0 ? Math.min(st.size, start + limit) : st.size;
  const body = Buffer.alloc(Math.max(0, end - start));
  if (body.length) {
    const fd = openSync(full, "r");
    try {
      readSync(fd, body, 0, body.length, start);
    } finally {
      closeSync(fd);
    }
  }
  // Nomad's untrusted-content writer: sniffed type, never one a browser renders as a page.
  res.statusCode = 200;
  res.setHeader("Content-Type", body.length ? sniff(body.subarray(0, 512)) : "text/plain; charset=utf-8");
  res.setHeader("Content-Length", body.length);
  res.end(body);
}
