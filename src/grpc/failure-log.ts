// Logs failed calls without letting a flood through: a dead Nomad under load fails every call the same way, and
// the host's log must stay readable. Each key (a status code) has a token bucket: `burst` lines at once, then
// `perSecond`; what is held back is counted and said once, in a summary line, as soon as the bucket allows (or a
// moment after the flood stops).

import type { Level, Logger } from "../log.js";

export interface FailureLogOptions {
  burst?: number;
  perSecond?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  suppressed: number;
  level: Level;
  timer: NodeJS.Timeout | undefined;
}

export class FailureLog {
  readonly #log: Logger;
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(log: Logger, options: FailureLogOptions = {}) {
    this.#log = log;
    this.#burst = options.burst ?? 10;
    this.#perSecond = options.perSecond ?? 1;
    this.#now = options.now ?? Date.now;
  }

  /** Logs the line unless `key` has used up its rate; then it is counted for the summary. */
  report(key: string, level: Level, message: string, fields: Record<string, unknown>): void {
    const bucket = this.#refill(key, level);
    if (bucket.tokens < 1) {
      bucket.suppressed++;
      bucket.timer ??= setTimeout(() => this.#flush(key), this.#msUntilToken(bucket)).unref();
      return;
    }
    bucket.tokens--;
    this.#summarise(key, bucket);
    this.#log[level](message, fields);
  }

  #refill(key: string, level: Level): Bucket {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.#burst, at: now, suppressed: 0, level, timer: undefined };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    bucket.level = level;
    return bucket;
  }

  #msUntilToken(bucket: Bucket): number {
    return Math.max(1, Math.ceil(((1 - bucket.tokens) / this.#perSecond) * 1000));
  }

  #flush(key: string): void {
    const bucket = this.#buckets.get(key);
    if (!bucket) return;
    bucket.timer = undefined;
    this.#refill(key, bucket.level);
    if (bucket.suppressed === 0) return;
    if (bucket.tokens >= 1) bucket.tokens--;
    this.#summarise(key, bucket);
  }

  #summarise(key: string, bucket: Bucket): void {
    if (bucket.suppressed === 0) return;
    const n = bucket.suppressed;
    bucket.suppressed = 0;
    if (bucket.timer) clearTimeout(bucket.timer);
    bucket.timer = undefined;
    this.#log[bucket.level](`${n} similar failed call${n === 1 ? "" : "s"} suppressed`, { code: key, suppressed: n });
  }
}
