// Client of Nomad's exec WebSocket (/v1/client/allocation/:id/exec?task=&command=<JSON argv>&tty=), over undici's
// WebSocket. Every message is one JSON text frame: the client sends {"stdin":{"data":b64}}, {"stdin":{"close":true}},
// {"tty_size":{"height":H,"width":W}} and {} heartbeats; Nomad sends {"stdout"|"stderr":{"data":b64}} / {"close":true}
// and finally {"exited":true,"result":{"exit_code":N}} (exit_code omitted when 0), then closes with 1000. Failures
// after the upgrade arrive as a close frame whose reason is the message (1008 policy, 1011 internal).

import { WebSocket } from "undici";
import { Code, ProviderError } from "../errors.js";
import type { NomadHttp } from "./nomad-http.js";

export type ExecEvent = { stdout: Buffer } | { stderr: Buffer } | { exited: number };

export interface ExecSessionOptions {
  task: string;
  command: string[];
  tty: boolean;
  signal?: AbortSignal;
  /** Application heartbeat period; Nomad's own clients send one every 10 s. */
  heartbeatMs?: number;
}

// ---- message codec (pure) --------------------------------------------------------------------------------------

export function encodeStdin(data: Uint8Array): string {
  return JSON.stringify({ stdin: { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64") } });
}

export const closeStdinMessage = JSON.stringify({ stdin: { close: true } });
export const heartbeatMessage = "{}";

export function encodeResize(width: number, height: number): string {
  return JSON.stringify({ tty_size: { height, width } });
}

/** One server message -> the events it carries (none for heartbeats and stream-close notices). */
export function decodeExecMessage(text: string): ExecEvent[] {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ProviderError(Code.Unavailable, `nomad: exec: malformed message from Nomad: ${text.slice(0, 100)}`);
  }
  const events: ExecEvent[] = [];
  for (const name of ["stdout", "stderr"] as const) {
    const frame = msg[name] as { data?: unknown } | undefined;
    if (frame && typeof frame.data === "string" && frame.data.length > 0) {
      const data = Buffer.from(frame.data, "base64");
      events.push(name === "stdout" ? { stdout: data } : { stderr: data });
    }
  }
  if (msg.exited === true) {
    const code = (msg.result as { exit_code?: unknown } | undefined)?.exit_code;
    events.push({ exited: typeof code === "number" ? code : 0 });
  }
  return events;
}

/** Errors of sessions Nomad closed with no exit message and no reason (see isReasonlessClose). */
const reasonless = new WeakMap<ProviderError, number>();

/**
 * The close code when Nomad ended a session without an exit message and without a reason. Nomad writes an error as a
 * close frame, but gorilla/websocket drops close frames over 125 bytes, so a long driver error arrives as 1006 alone.
 */
export function reasonlessCloseCode(err: unknown): number | undefined {
  return err instanceof ProviderError ? reasonless.get(err) : undefined;
}

/** Maps a close frame that came without an exit message to the error it means. */
export function errorFromClose(code: number, reason: string): ProviderError {
  if (!reason) {
    const err = new ProviderError(Code.Unavailable, `nomad: exec: connection closed (code ${code})`);
    reasonless.set(err, code);
    return err;
  }
  const text = reason;
  const message = `nomad: exec: ${text}`;
  if (/permission denied|acl token/i.test(reason)) return new ProviderError(Code.PermissionDenied, message);
  if (/not found|unknown (task|allocation)/i.test(reason)) return new ProviderError(Code.NotFound, message);
  if (/not running|terminal|invalid|must be/i.test(reason) && code === 1008) return new ProviderError(Code.FailedPrecondition, message);
  return new ProviderError(Code.Unavailable, message);
}

// ---- session ---------------------------------------------------------------------------------------------------

export class ExecSession {
  readonly #ws: WebSocket;
  readonly #queue: ExecEvent[] = [];
  #wake: (() => void) | undefined;
  #ended: ProviderError | "exited" | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #onAbort: () => void;
  readonly #signal: AbortSignal | undefined;

  private constructor(ws: WebSocket, signal: AbortSignal | undefined, heartbeatMs: number) {
    this.#ws = ws;
    this.#signal = signal;
    this.#onAbort = () => this.#finish(ProviderError.from(signal?.reason, Code.Canceled));
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    ws.addEventListener("message", (ev) => {
      try {
        const text = typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString("utf8");
        for (const e of decodeExecMessage(text)) {
          this.#queue.push(e);
          if ("exited" in e) this.#finish("exited");
        }
      } catch (err) {
        this.#finish(ProviderError.from(err, Code.Unavailable));
      }
      this.#wake?.();
    });
    ws.addEventListener("close", (ev) => this.#finish(errorFromClose(ev.code, ev.reason)));
    this.#heartbeat = setInterval(() => this.#send(heartbeatMessage), heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Opens the WebSocket and resolves once it is open; fails with a ProviderError otherwise. */
  static open(nomad: NomadHttp, allocId: string, o: ExecSessionOptions): Promise<ExecSession> {
    const url = nomad.url(`/v1/client/allocation/${encodeURIComponent(allocId)}/exec`, {
      task: o.task,
      command: JSON.stringify(o.command),
      tty: o.tty,
    });
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (o.signal?.aborted) return Promise.reject(ProviderError.from(o.signal.reason, Code.Canceled));
    const ws = new WebSocket(url, { headers: nomad.callHeaders(o.signal), dispatcher: nomad.dispatcher });
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        ws.removeEventListener("open", onOpen);
        ws.removeEventListener("close", onClose);
        o.signal?.removeEventListener("abort", onAbort);
      };
      const onOpen = () => {
        cleanup();
        resolve(new ExecSession(ws, o.signal, o.heartbeatMs ?? 10_000));
      };
      const onClose = (ev: { code: number; reason: string }) => {
        cleanup();
        reject(ev.code === 1006 ? new ProviderError(Code.Unavailable, `nomad: exec in allocation ${allocId}: connection failed`) : errorFromClose(ev.code, ev.reason));
      };
      const onAbort = () => {
        cleanup();
        ws.close();
        reject(ProviderError.from(o.signal?.reason, Code.Canceled));
      };
      ws.addEventListener("open", onOpen);
      ws.addEventListener("close", onClose);
      o.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  sendStdin(data: Uint8Array): void {
    if (data.byteLength > 0) this.#send(encodeStdin(data));
  }

  closeStdin(): void {
    this.#send(closeStdinMessage);
  }

  resize(width: number, height: number): void {
    this.#send(encodeResize(width, height));
  }

  /** Output in arrival order; ends after the exit event; throws when the session ends any other way. */
  async *events(): AsyncGenerator<ExecEvent> {
    try {
      for (;;) {
        const e = this.#queue.shift();
        if (e) {
          yield e;
          if ("exited" in e) return;
          continue;
        }
        if (this.#ended instanceof ProviderError) throw this.#ended;
        if (this.#ended === "exited") return;
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
      }
    } finally {
      this.close();
    }
  }

  /** Closes the socket (Nomad kills the command when the connection goes away). Idempotent. */
  close(): void {
    this.#finish(new ProviderError(Code.Canceled, "nomad: exec: session closed"));
  }

  #send(message: string): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(message);
  }

  #finish(reason: ProviderError | "exited"): void {
    if (this.#ended) return;
    this.#ended = reason;
    clearInterval(this.#heartbeat);
    this.#signal?.removeEventListener("abort", this.#onAbort);
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
    this.#wake?.();
  }
}
