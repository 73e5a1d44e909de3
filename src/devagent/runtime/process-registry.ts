// Every task (and every exec session) leads its own process group. This registry knows the live groups so that
// no task outlives the agent: on a normal exit or a fatal signal the agent SIGKILLs each group itself, and for the
// case it cannot (the agent is SIGKILLed) each group carries a watcher that notices the agent is gone
// (see task-process.ts).

const liveGroups = new Set<number>();
let hooksInstalled = false;

export function killGroup(pgid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // the group is already gone
  }
}

export function killAllGroups(signal: NodeJS.Signals = "SIGKILL"): void {
  for (const pgid of liveGroups) killGroup(pgid, signal);
  liveGroups.clear();
}

export function trackGroup(pgid: number): void {
  installHooks();
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

export function liveGroupCount(): number {
  return liveGroups.size;
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => killAllGroups());
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAllGroups();
      // When nobody else handles the signal, keep its default meaning (terminate) by re-raising it now that
      // our one-shot listener is gone; otherwise the embedding program's own handler decides what happens.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}
