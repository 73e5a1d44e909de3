// Keeps track of the calls in flight so shutdown can be graceful: unary calls get a grace period to finish,
// streams are ended at once (they could run forever), and calls arriving during shutdown are refused.

import { Code, ProviderError } from "../errors.js";
import type { LiveCallContext } from "./call-context.js";

export type CallKind = "unary" | "stream";

export class CallRegistry {
  readonly #calls = new Map<LiveCallContext, CallKind>();
  #closing = false;
  #onIdle: (() => void) | undefined;

  get closing(): boolean {
    return this.#closing;
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Registers a call; returns the function that unregisters it. Throws UNAVAILABLE once shutdown began. */
  begin(ctx: LiveCallContext, kind: CallKind): () => void {
    if (this.#closing) throw shuttingDown();
    this.#calls.set(ctx, kind);
    return () => {
      this.#calls.delete(ctx);
      if (this.#calls.size === 0) this.#onIdle?.();
    };
  }

  /** Ends every stream now and waits up to graceMs for unary calls, then aborts whatever is left. */
  async drain(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const [ctx, kind] of this.#calls) if (kind === "stream") ctx.abort(shuttingDown());
    if (this.#calls.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const ctx of this.#calls.keys()) ctx.abort(shuttingDown());
        resolve();
      }, graceMs);
      this.#onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function shuttingDown(): ProviderError {
  return new ProviderError(Code.Unavailable, "nomad-provider is shutting down");
}
