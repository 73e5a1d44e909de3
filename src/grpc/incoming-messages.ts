// The request side of a client-streaming or bidi call as an async iterable that ends when the client half-closes
// and stops (throwing the call's abort reason) when the call is cancelled, so a handler never waits forever.

import type { Readable } from "node:stream";

export async function* incoming<T>(call: Readable, signal: AbortSignal): AsyncGenerator<T> {
  const queue: T[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (message: T) => {
    queue.push(message);
    // A handler that reads slowly pauses the client through HTTP/2 flow control instead of buffering without bound.
    if (queue.length >= 16) call.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (err: unknown) => {
    failure = err;
    notify();
  };
  call.on("data", onData).on("end", onEnd).on("error", onError);
  signal.addEventListener("abort", notify);
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (failure !== undefined) throw failure;
      const next = queue.shift();
      if (next !== undefined) {
        if (queue.length < 4 && call.isPaused()) call.resume();
        yield next;
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    call.off("data", onData).off("end", onEnd).off("error", onError);
    signal.removeEventListener("abort", notify);
  }
}
