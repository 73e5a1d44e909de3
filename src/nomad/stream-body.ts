// The body of a streaming Nomad answer (logs, event stream) as the chunks the socket delivered, fed by an undici
// dispatch handler. A Readable in between (undici's request()) would concatenate whatever it had buffered into a new
// Buffer on every read: for a 20 MiB log read that copy cost as much CPU as all the rest of the plugin's work on it.
// Backpressure: once more than highWaterMark bytes wait unread the request is paused (the socket stops being read, so
// TCP holds Nomad back), and resumed when the reader has taken them.

import type { Dispatcher } from "undici";

const defaultHighWaterMark = 1024 * 1024;

export class StreamBody implements AsyncIterable<Buffer> {
  readonly #highWaterMark: number;
  #queue: Buffer[] = [];
  #head = 0;
  #queued = 0;
  #ended = false;
  /** Set once the body failed or was destroyed: the reader gets it (undefined = ended quietly) after what is queued. */
  #failure: { error: unknown } | undefined;
  #waiting: { resolve: () => void } | undefined;
  #controller: Dispatcher.DispatchController | undefined;

  constructor(options: { highWaterMark?: number } = {}) {
    this.#highWaterMark = options.highWaterMark ?? defaultHighWaterMark;
  }

  /** Bytes received and not yet read. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** True while the request is paused because the reader lags. */
  get paused(): boolean {
    return this.#controller?.paused === true;
  }

  // The dispatch handler's side.

  attach(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#failure) controller.abort(errorOf(this.#failure.error));
  }

  push(chunk: Buffer): void {
    // undici hands over an empty chunk when it resumes a paused parser; a reader takes an empty chunk for nothing left.
    if (this.#failure || this.#ended || chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= this.#highWaterMark && this.#controller && !this.#controller.paused) this.#controller.pause();
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  fail(error: unknown): void {
    if (this.#ended || this.#failure) return;
    this.#failure = { error };
    this.#wake();
  }

  // The reader's side.

  /**
   * Ends the body: the request is aborted, and a reader gets `error` (if given) once it has read what was queued, or
   * the end of the body without one.
   */
  destroy(error?: unknown): void {
    if (this.#ended || this.#failure) return;
    this.#failure = { error };
    this.#controller?.abort(errorOf(error ?? new Error("stream body destroyed")));
    this.#wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.#head < this.#queue.length) {
          yield this.#take();
          continue;
        }
        if (this.#ended) return;
        if (this.#failure) {
          if (this.#failure.error === undefined) return;
          throw this.#failure.error;
        }
        await new Promise<void>((resolve) => (this.#waiting = { resolve }));
      }
    } finally {
      // A reader that stops early (break, return, throw) does not want the rest.
      this.destroy();
    }
  }

  #take(): Buffer {
    const chunk = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as Buffer;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    this.#queued -= chunk.length;
    if (this.#queued < this.#highWaterMark && this.#controller?.paused && !this.#controller.aborted) this.#controller.resume();
    return chunk;
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve();
  }
}

function errorOf(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
