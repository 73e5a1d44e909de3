// Counts a listener's open TCP connections from the kernel's table (/proc/net/tcp{,6}), so tests can see sockets a
// process left open towards a server without instrumenting either side. Linux only (the CI machine is Debian).

import { readFileSync } from "node:fs";

/** Connections accepted by the listener on `port` that are not yet fully closed (ESTABLISHED, CLOSE_WAIT, ...). */
export function openServerConnections(port: number): number {
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const localPort = parseInt(cols[1]!.split(":")[1] ?? "", 16);
      const state = cols[3];
      // 0A = LISTEN, 06 = TIME_WAIT, 07 = CLOSE: no live socket behind them.
      if (localPort === port && state !== "0A" && state !== "06" && state !== "07") n++;
    }
  }
  return n;
}

export function portOf(address: string): number {
  return Number(new URL(address).port);
}
