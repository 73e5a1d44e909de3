// Counts a listener's open TCP connections from the kernel's table (/proc/net/tcp{,6}), so tests can see sockets a
// process left open towards a server without instrumenting either side. Linux only (the CI machine is Debian).

import { readTcpTable } from "../../src/devagent/sched/tcp-table.js";

/** Connections accepted by the listener on `port` that are not yet fully closed (ESTABLISHED, CLOSE_WAIT, ...). */
export function openServerConnections(port: number): number {
  // 0A = LISTEN, 06 = TIME_WAIT, 07 = CLOSE: no live socket behind them.
  return readTcpTable().filter((s) => s.localPort === port && s.state !== "0A" && s.state !== "06" && s.state !== "07").length;
}

export function portOf(address: string): number {
  return Number(new URL(address).port);
}
