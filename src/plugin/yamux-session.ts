// yamux (hashicorp/yamux spec.md) over one connection, as go-plugin 1.6+ hosts speak it when they set
// PLUGIN_MULTIPLEX_GRPC: the host opens one connection and every gRPC connection, the main one included, is a yamux
// stream inside it. Frames: a 12-byte big-endian header (version 0, type, flags, stream id, length) and, for Data, a
// payload. Flow control is per stream: each side may send at most the peer's window (256 KiB at first) of Data bytes,
// and grants more with Window Update frames as it consumes. Streams are node Duplexes, so grpc-js serves them like
// sockets. Loaded only when the host asks for multiplexing.

import { Duplex } from "node:stream";

const headerSize = 12;
const protoVersion = 0;
/** Every stream starts with this window in both directions (the spec's 256 KiB). */
export const initialWindow = 256 * 1024;
/** The largest Data payload we put in one frame, so one stream cannot hold the connection for long. */
const maxFrame = 64 * 1024;

export const FrameType = { data: 0, windowUpdate: 1, ping: 2, goAway: 3 } as const;
export const Flag = { syn: 1, ack: 2, fin: 4, rst: 8 } as const;
export const GoAwayCode = { normal: 0, protocolError: 1, internalError: 2 } as const;

export interface FrameHeader {
  type: number;
  flags: number;
  streamId: number;
  length: number;
}

export function encodeHeader({ type, flags, streamId, length }: FrameHeader): Buffer {
  const header = Buffer.allocUnsafe(headerSize);
  header.writeUInt8(protoVersion, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(flags, 2);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt32BE(length, 8);
  return header;
}

export interface YamuxSessionOptions {
  /** "server": the plugin side (accepts odd stream ids the host opens, opens even ones); "client": the host side. */
  role: "server" | "client";
  /** Called with each stream the peer opens. */
  onStream?: (stream: YamuxStream) => void;
  /** Called once when the session ends, with the reason when it was not a normal close. */
  onClose?: (error?: Error) => void;
}

export class YamuxSession {
  readonly #conn: Duplex;
  readonly #options: YamuxSessionOptions;
  readonly #streams = new Map<number, YamuxStream>();
  readonly #pings = new Map<number, () => void>();
  #nextId: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #closed = false;

  constructor(conn: Duplex, options: YamuxSessionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#nextId = options.role === "client" ? 1 : 2;
    conn.on("data", (chunk: Buffer) => this.#receive(chunk));
    conn.on("error", (err) => this.#end(err));
    conn.on("close", () => this.#end());
    conn.on("end", () => this.#end());
    // Accepted paused (pauseOnConnect): reading starts now that the session owns the connection.
    conn.resume();
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Opens a stream (SYN rides on a window update, as yamux does); data may follow at once. */
  openStream(): YamuxStream {
    if (this.#closed) throw new Error("yamux session is closed");
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new YamuxStream(this, id);
    this.#streams.set(id, stream);
    this.sendFrame({ type: FrameType.windowUpdate, flags: Flag.syn, streamId: id, length: 0 });
    return stream;
  }

  /** Sends a ping and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const opaque = (Math.random() * 0xffffffff) >>> 0;
    return new Promise((resolve) => {
      this.#pings.set(opaque, resolve);
      this.sendFrame({ type: FrameType.ping, flags: Flag.syn, streamId: 0, length: opaque });
    });
  }

  /** Ends the session: Go Away to the peer, every stream destroyed, the connection closed. */
  close(code: number = GoAwayCode.normal, error?: Error): void {
    if (this.#closed) return;
    this.sendFrame({ type: FrameType.goAway, flags: 0, streamId: 0, length: code });
    this.#conn.end();
    this.#end(error);
  }

  /** @internal */
  sendFrame(header: FrameHeader, payload?: Buffer): boolean {
    if (this.#closed) return false;
    const head = encodeHeader({ ...header, length: payload ? payload.length : header.length });
    return payload ? this.#conn.write(Buffer.concat([head, payload])) : this.#conn.write(head);
  }

  /** @internal */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  #receive(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    while (!this.#closed && this.#pendingBytes >= headerSize) {
      const head = this.#peek(headerSize);
      const version = head.readUInt8(0);
      const header: FrameHeader = {
        type: head.readUInt8(1),
        flags: head.readUInt16BE(2),
        streamId: head.readUInt32BE(4),
        length: head.readUInt32BE(8),
      };
      if (version !== protoVersion || header.type > FrameType.goAway) {
        this.#protocolError(`unsupported yamux frame (version ${version}, type ${header.type})`);
        return;
      }
      const bodyLength = header.type === FrameType.data ? header.length : 0;
      if (this.#pendingBytes < headerSize + bodyLength) return;
      this.#take(headerSize);
      const body = bodyLength > 0 ? this.#take(bodyLength) : undefined;
      this.#handle(header, body);
    }
  }

  #handle(header: FrameHeader, body: Buffer | undefined): void {
    switch (header.type) {
      case FrameType.ping:
        if (header.flags & Flag.syn) {
          this.sendFrame({ type: FrameType.ping, flags: Flag.ack, streamId: 0, length: header.length });
        } else if (header.flags & Flag.ack) {
          this.#pings.get(header.length)?.();
          this.#pings.delete(header.length);
        }
        return;
      case FrameType.goAway:
        this.#end(header.length === GoAwayCode.normal ? undefined : new Error(`peer sent go away (code ${header.length})`));
        return;
    }
    let stream = this.#streams.get(header.streamId);
    if (header.flags & Flag.syn) {
      if (stream || !this.#isPeerId(header.streamId)) {
        this.#protocolError(`yamux stream ${header.streamId} opened twice or with the wrong parity`);
        return;
      }
      stream = new YamuxStream(this, header.streamId);
      this.#streams.set(header.streamId, stream);
      // Accept at once: an ACK on a window update, as a yamux server does when its Accept returns.
      this.sendFrame({ type: FrameType.windowUpdate, flags: Flag.ack, streamId: header.streamId, length: 0 });
      this.#options.onStream?.(stream);
    }
    // Frames for a stream already forgotten (closed on both sides, or reset) are dropped, as yamux does.
    if (!stream) return;
    if (header.type === FrameType.windowUpdate) stream.grant(header.length);
    if (body && !stream.receive(body)) {
      this.#protocolError(`yamux stream ${header.streamId} sent past its receive window`);
      return;
    }
    if (header.flags & Flag.fin) stream.receiveFin();
    if (header.flags & Flag.rst) stream.receiveReset();
  }

  #isPeerId(id: number): boolean {
    return id !== 0 && (this.#options.role === "server" ? id % 2 === 1 : id % 2 === 0);
  }

  #protocolError(message: string): void {
    this.close(GoAwayCode.protocolError, new Error(message));
  }

  #end(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams.values()) stream.destroy();
    this.#streams.clear();
    for (const resolve of this.#pings.values()) resolve();
    this.#pings.clear();
    // After a Go Away (close() ended the connection) let it flush; otherwise nothing more will be written.
    if (this.#conn.writableEnded && !this.#conn.writableFinished) this.#conn.once("finish", () => this.#conn.destroy());
    else this.#conn.destroy();
    this.#options.onClose?.(error);
  }

  #peek(n: number): Buffer {
    if (this.#pending[0]!.length < n) this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    const first = this.#pending[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#pending.shift();
      else this.#pending[0] = first.subarray(n);
      this.#pendingBytes -= n;
      return out;
    }
    const all = Buffer.concat(this.#pending);
    this.#pending = all.length > n ? [all.subarray(n)] : [];
    this.#pendingBytes -= n;
    return all.subarray(0, n);
  }
}

/** One yamux stream as a Duplex: writes wait for the peer's window, reads grant window back as they are consumed. */
export class YamuxStream extends Duplex {
  readonly id: number;
  readonly #session: YamuxSession;
  /** Bytes we may still send before the peer grants more. */
  #sendWindow = initialWindow;
  /** Bytes the peer may still send us. */
  #recvWindow = initialWindow;
  /** Bytes received and handed to the reader that we have not granted back yet. */
  #credit = 0;
  /** The reader's buffer is full: hold the credit until it reads, so a slow reader bounds what the peer sends. */
  #readerFull = false;
  #waitingForWindow: (() => void) | undefined;
  #sentFin = false;
  #receivedFin = false;

  /** @internal */
  constructor(session: YamuxSession, id: number) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.id = id;
  }

  /** @internal The peer granted window. */
  grant(delta: number): void {
    this.#sendWindow += delta;
    const wake = this.#waitingForWindow;
    this.#waitingForWindow = undefined;
    wake?.();
  }

  /** @internal Data from the peer; false when it overran the window we granted. */
  receive(data: Buffer): boolean {
    if (data.length > this.#recvWindow) return false;
    this.#recvWindow -= data.length;
    if (this.#receivedFin || this.destroyed) return true;
    this.#credit += data.length;
    if (!this.push(data)) this.#readerFull = true;
    else this.#grantBack();
    return true;
  }

  /** @internal */
  receiveFin(): void {
    if (this.#receivedFin) return;
    this.#receivedFin = true;
    this.push(null);
    this.#forgetWhenDone();
  }

  /** @internal */
  receiveReset(): void {
    this.#sentFin = true;
    this.#receivedFin = true;
    this.destroy(new Error(`yamux stream ${this.id} reset by the peer`));
  }

  override _read(): void {
    if (!this.#readerFull) return;
    this.#readerFull = false;
    this.#grantBack();
  }

  /** Grants consumed bytes back in batches of at least half a window, as yamux does, to keep updates rare. */
  #grantBack(): void {
    if (this.#credit < initialWindow / 2 || this.#receivedFin) return;
    const delta = this.#credit;
    this.#credit = 0;
    this.#recvWindow += delta;
    this.#session.sendFrame({ type: FrameType.windowUpdate, flags: 0, streamId: this.id, length: delta });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  #send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    let offset = 0;
    const next = (): void => {
      while (offset < chunk.length) {
        if (this.destroyed || this.#sentFin) {
          callback(new Error(`yamux stream ${this.id} is closed`));
          return;
        }
        if (this.#sendWindow === 0) {
          this.#waitingForWindow = next;
          return;
        }
        const n = Math.min(chunk.length - offset, this.#sendWindow, maxFrame);
        this.#session.sendFrame({ type: FrameType.data, flags: 0, streamId: this.id, length: n }, chunk.subarray(offset, offset + n));
        this.#sendWindow -= n;
        offset += n;
      }
      callback();
    };
    next();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#sendFin();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#sentFin || !this.#receivedFin) {
      // Not closed on both sides: reset, so the peer stops sending to a stream nobody reads any more.
      this.#session.sendFrame({ type: FrameType.windowUpdate, flags: Flag.rst, streamId: this.id, length: 0 });
      this.#sentFin = true;
      this.#receivedFin = true;
    }
    this.#waitingForWindow = undefined;
    this.#session.forget(this.id);
    callback(error);
  }

  #sendFin(): void {
    if (this.#sentFin) return;
    this.#sentFin = true;
    this.#session.sendFrame({ type: FrameType.windowUpdate, flags: Flag.fin, streamId: this.id, length: 0 });
    this.#forgetWhenDone();
  }

  #forgetWhenDone(): void {
    if (this.#sentFin && this.#receivedFin) this.#session.forget(this.id);
  }
}
