// A pause that ends early, without an error, when the signal aborts: for retry loops whose caller checks the signal
// itself right after (reconnecting followers, backoffs), so an abort never waits out the timer.

export function delayUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
