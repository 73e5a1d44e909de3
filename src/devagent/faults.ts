// Fault switches, so clients of the dev agent can test their error handling against real sockets without mocks.
//
// Set them in-process with `agent.faults.set({...})` / `agent.faults.clear()`, or over HTTP with
// `PUT /v1/devagent/faults` and the same JSON body (`DELETE /v1/devagent/faults` clears; `GET` shows the current set).
// `set` replaces the whole set. Paths under /v1/devagent/ are never faulted. With --acl, the HTTP switch needs the
// management token.
//
//   {
//     "delayMs": 250,                                   // delay every answer (after the request is read) by N ms
//     "failWith500": { "pathPrefix": "/v1/job", "body": "rpc error: timeout", "times": 2 },
//                                                       // answer 500 with `body` (default "injected fault") for
//                                                       // paths starting with pathPrefix; `times` limits it (default: always)
//     "malformedJson": { "pathPrefix": "/v1/jobs", "times": 1 },
//                                                       // cut JSON answers for matching paths in half
//     "resetStreamAfterBytes": { "bytes": 100, "pathPrefix": "/v1/client/fs/logs", "once": true },
//                                                       // destroy the socket of a streaming answer (logs, event
//                                                       // stream) after N body bytes; once (default true) or every time
//     "failStreamAfterBytes": { "bytes": 100, "body": "rpc error: EOF", "pathPrefix": "/v1/client/fs/logs", "once": true },
//                                                       // a stream's source fails after N body bytes: like Nomad's
//                                                       // HTTP wrapper, write the error text into the body already
//                                                       // under way (status 200 sent) and end it normally
//     "resetStreamAfterFrames": { "frames": 2, "pathPrefix": "/v1/event/stream", "times": 3 },
//                                                       // destroy the socket of a streaming answer right after its
//                                                       // Nth whole data frame or event batch (heartbeats not
//                                                       // counted); for `times` streams (default 1)
//     "truncateFrame": { "pathPrefix": "/v1/client/fs/logs", "once": true },
//                                                       // write the first half of the next streamed frame, then reset
//     "noPathToNode": { "allocId": "..." },             // the node lost its server connection: the client endpoints
//                                                       // (/v1/client/fs/*, /v1/client/allocation/*) of that
//                                                       // allocation (of every one without allocId) answer Nomad's
//                                                       // 404 "No path to node"
//     "refuseConnections": true                         // close every new connection at once (and any kept-alive
//                                                       // connection on its next request)
//   }

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface FaultSettings {
  delayMs?: number;
  failWith500?: { pathPrefix?: string; body?: string; times?: number };
  malformedJson?: { pathPrefix?: string; times?: number };
  resetStreamAfterBytes?: { bytes: number; pathPrefix?: string; once?: boolean };
  failStreamAfterBytes?: { bytes: number; body?: string; pathPrefix?: string; once?: boolean };
  resetStreamAfterFrames?: { frames: number; pathPrefix?: string; times?: number };
  truncateFrame?: { pathPrefix?: string; once?: boolean } | boolean;
  noPathToNode?: { allocId?: string };
  refuseConnections?: boolean;
}

const streamPaths = ["/v1/client/fs/logs", "/v1/event/stream", "/v1/client/fs/stream"];

export class Faults {
  private current: FaultSettings = {};

  set(settings: FaultSettings): void {
    this.current = validate(settings);
  }

  clear(): void {
    this.current = {};
  }

  get(): FaultSettings {
    return structuredClone(this.current);
  }

  refusesConnections(): boolean {
    return this.current.refuseConnections === true;
  }

  delayMs(path: string): number {
    return exempt(path) ? 0 : (this.current.delayMs ?? 0);
  }

  /** Whether this client endpoint's allocation sits on a node no server can reach (fault noPathToNode). */
  noPathToNode(path: string): boolean {
    const f = this.current.noPathToNode;
    if (!f || !/^\/v1\/client\/(fs|allocation)\//.test(path)) return false;
    return f.allocId === undefined || path.split("/").includes(f.allocId);
  }

  /** The injected 500 body for this path, consuming one `times` if limited. */
  take500(path: string): string | undefined {
    const f = this.current.failWith500;
    if (!f || exempt(path) || !path.startsWith(f.pathPrefix ?? "/")) return undefined;
    if (f.times !== undefined && f.times-- <= 1) delete this.current.failWith500;
    return f.body ?? "injected fault";
  }

  /** Wraps the response so JSON bodies get cut and streams get reset as configured. */
  instrument(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (exempt(path)) return;
    this.instrumentMalformed(res, path);
    this.instrumentStream(req, res, path);
  }

  private instrumentMalformed(res: ServerResponse, path: string): void {
    const f = this.current.malformedJson;
    if (!f || !path.startsWith(f.pathPrefix ?? "/")) return;
    const end = res.end.bind(res) as (...a: any[]) => ServerResponse;
    res.end = ((chunk?: any, ...rest: any[]) => {
      const type = String(res.getHeader("content-type") ?? "");
      if ((typeof chunk === "string" || Buffer.isBuffer(chunk)) && type.includes("json") && this.current.malformedJson === f) {
        if (f.times !== undefined && f.times-- <= 1) delete this.current.malformedJson;
        const buf = Buffer.from(chunk);
        const cut = buf.subarray(0, Math.max(1, Math.floor(buf.length / 2)));
        res.setHeader("content-length", cut.length);
        return end(cut, ...rest);
      }
      return end(chunk, ...rest);
    }) as typeof res.end;
  }

  private instrumentStream(req: IncomingMessage, res: ServerResponse, path: string): void {
    const reset = this.current.resetStreamAfterBytes;
    const fail = this.current.failStreamAfterBytes;
    const trunc = this.current.truncateFrame;
    const truncPrefix = typeof trunc === "object" ? trunc.pathPrefix : undefined;
    const resetHere = reset && path.startsWith(reset.pathPrefix ?? "/") && streamPaths.some((p) => path.startsWith(p));
    const failHere = fail && path.startsWith(fail.pathPrefix ?? "/") && streamPaths.some((p) => path.startsWith(p));
    const truncHere = trunc && path.startsWith(truncPrefix ?? "/v1/client/fs/logs");
    const afterFrames = this.current.resetStreamAfterFrames;
    const framesHere = afterFrames && path.startsWith(afterFrames.pathPrefix ?? "/") && streamPaths.some((p) => path.startsWith(p));
    if (framesHere && afterFrames) {
      // Taken by this stream now, so `times` counts streams, whether or not each one reaches its Nth frame.
      const left = (afterFrames.times ?? 1) - 1;
      if (left <= 0) delete this.current.resetStreamAfterFrames;
      else afterFrames.times = left;
    }
    if (!resetHere && !truncHere && !failHere && !framesHere) return;
    let written = 0;
    let frames = 0;
    let failed = false;
    const write = res.write.bind(res) as (...a: any[]) => boolean;
    const end = res.end.bind(res) as (...a: any[]) => ServerResponse;
    const kill = () => (req.socket as Socket).destroy();
    res.write = ((chunk: any, ...rest: any[]) => {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      if (failed) return false;
      if (failHere && fail && written + buf.length >= fail.bytes) {
        if (fail.once !== false && this.current.failStreamAfterBytes === fail) delete this.current.failStreamAfterBytes;
        const head = buf.subarray(0, Math.max(0, fail.bytes - written));
        if (head.length) write(head);
        written = fail.bytes;
        failed = true;
        // Nomad's HTTP wrapper: WriteHeader (too late, ignored) then Write(errMsg), and the handler returns.
        end(fail.body ?? "rpc error: EOF");
        return false;
      }
      if (truncHere && this.current.truncateFrame === trunc && isFrame(buf)) {
        if (typeof trunc !== "object" || trunc.once !== false) delete this.current.truncateFrame;
        write(buf.subarray(0, Math.max(1, Math.floor(buf.length / 2))));
        setImmediate(kill);
        return false;
      }
      if (resetHere && reset && written + buf.length >= reset.bytes) {
        if (reset.once !== false && this.current.resetStreamAfterBytes === reset) delete this.current.resetStreamAfterBytes;
        const head = buf.subarray(0, Math.max(0, reset.bytes - written));
        if (head.length) write(head);
        written = reset.bytes;
        setImmediate(kill);
        return false;
      }
      if (framesHere && afterFrames && frames >= afterFrames.frames) return false;
      written += buf.length;
      const ok = write(chunk, ...rest);
      // The connection ends after the frame has reached the socket (end flushes, destroy would drop it), without
      // the chunked body's terminator: to the client the stream broke off.
      if (framesHere && afterFrames && isFrame(buf) && ++frames >= afterFrames.frames) setImmediate(() => (req.socket as Socket).end());
      return ok;
    }) as typeof res.write;
  }
}

/** A data frame worth cutting: not a heartbeat. */
function isFrame(buf: Buffer): boolean {
  const text = buf.toString("utf8");
  return text.length > 2 && text.trim() !== "{}";
}

function exempt(path: string): boolean {
  return path.startsWith("/v1/devagent/");
}

function validate(s: FaultSettings): FaultSettings {
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw new TypeError("faults must be a JSON object");
  const out = structuredClone(s);
  if (out.delayMs !== undefined && !(typeof out.delayMs === "number" && out.delayMs >= 0)) {
    throw new TypeError("delayMs must be a non-negative number");
  }
  if (out.resetStreamAfterBytes && !(typeof out.resetStreamAfterBytes.bytes === "number" && out.resetStreamAfterBytes.bytes >= 0)) {
    throw new TypeError("resetStreamAfterBytes.bytes must be a non-negative number");
  }
  if (out.failStreamAfterBytes && !(typeof out.failStreamAfterBytes.bytes === "number" && out.failStreamAfterBytes.bytes >= 0)) {
    throw new TypeError("failStreamAfterBytes.bytes must be a non-negative number");
  }
  const frames = out.resetStreamAfterFrames;
  if (frames && !(typeof frames.frames === "number" && frames.frames >= 1 && (frames.times === undefined || (typeof frames.times === "number" && frames.times >= 1)))) {
    throw new TypeError("resetStreamAfterFrames.frames and .times must be numbers of at least 1");
  }
  return out;
}
