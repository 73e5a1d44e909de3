// go-plugin plugins exit when their host dies: the host may be killed without calling Shutdown, and an orphaned
// plugin would keep its socket and Nomad connections forever. Re-parenting (ppid changes) is the portable signal.

export function watchParent(onOrphaned: () => void, intervalMs = 500): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, intervalMs);
  // Never the reason the process stays alive.
  timer.unref();
  return () => clearInterval(timer);
}
