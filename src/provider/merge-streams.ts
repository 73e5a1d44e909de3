// Merges async iterators into one sequence in arrival order while keeping each source's backpressure: at most one
// pending next() per source, so a slow consumer pauses every source instead of buffering their output.

interface Pending<T> {
  promise: Promise<{ source: AsyncIterator<T>; result: IteratorResult<T> }>;
}

export class StreamMerger<T> {
  readonly #pending = new Map<AsyncIterator<T>, Pending<T>>();

  get size(): number {
    return this.#pending.size;
  }

  add(source: AsyncIterable<T>): void {
    const it = source[Symbol.asyncIterator]();
    this.#pull(it);
  }

  /** The next item of any source; `undefined` when there are no sources left. A source's error is rethrown. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.#pending.size === 0) return undefined;
      const { source, result } = await Promise.race([...this.#pending.values()].map((p) => p.promise));
      if (result.done) {
        this.#pending.delete(source);
        continue;
      }
      this.#pull(source);
      return result.value;
    }
  }

  /** Like next(), but undefined when nothing arrives before `deadline` settles (nor when no source is left). */
  async nextBefore(deadline: Promise<unknown>): Promise<{ value: T } | undefined> {
    const timedOut = deadline.then(() => undefined);
    for (;;) {
      if (this.#pending.size === 0) return undefined;
      const won = await Promise.race([...[...this.#pending.values()].map((p) => p.promise), timedOut]);
      if (!won) return undefined;
      if (won.result.done) {
        this.#pending.delete(won.source);
        continue;
      }
      this.#pull(won.source);
      return { value: won.result.value };
    }
  }

  /** A promise that settles when next() has something (used to race against other events without pulling twice). */
  ready(): Promise<unknown> {
    return Promise.race([...this.#pending.values()].map((p) => p.promise));
  }

  /** Asks every source to end. Abort the sources' signal first: a source blocked in next() ends only after that. */
  close(): void {
    const sources = [...this.#pending.keys()];
    this.#pending.clear();
    for (const s of sources) s.return?.().catch(() => undefined);
  }

  #pull(it: AsyncIterator<T>): void {
    const promise = it.next().then((result) => ({ source: it, result }));
    // Errors surface through next(); this keeps a source that fails while nobody waits from being "unhandled".
    promise.catch(() => undefined);
    this.#pending.set(it, { promise });
  }
}
