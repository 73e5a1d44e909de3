// A doorbell for one follower of changes (a WatchStatus watcher, a write waiting for its instance to converge): rings
// coalesce until the follower comes back for the next one, so nothing rung while it was busy is lost.

/** A watcher's doorbell: rings coalesce until the watcher comes back for the next one. */
export class ChangeSignal {
  #pending = false;
  #wake: (() => void) | undefined;

  ring(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** Resolves at the next ring (at once if one came since the last call); rejects when the signal aborts. */
  next(signal: AbortSignal): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#wake = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#wake = () => {
        this.#wake = undefined;
        this.#pending = false;
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }
}
