// SIGTERM (and, for a human in standalone mode, SIGINT) start a graceful stop; a second signal exits at once.

export function onTermination(stop: () => void, signals: readonly NodeJS.Signals[] = ["SIGTERM"]): void {
  let received = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (received) process.exit(1);
      received = true;
      stop();
    });
  }
}
