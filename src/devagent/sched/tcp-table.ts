// The host's TCP sockets from the kernel's tables (/proc/net/tcp and tcp6): which ports listen (the port allocator),
// and — for tests and benchmarks — which connections are open. Linux only; empty where /proc is missing.

import { readFileSync } from "node:fs";

export interface TcpSocket {
  localPort: number;
  remotePort: number;
  /** The kernel's state code: "01" ESTABLISHED, "06" TIME_WAIT, "07" CLOSE, "0A" LISTEN, ... */
  state: string;
  /** The socket's inode, as in /proc/<pid>/fd links ("socket:[inode]"). */
  inode: string;
}

export function readTcpTable(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const row of text.split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 10) continue;
      sockets.push({ localPort: portOf(cols[1]!), remotePort: portOf(cols[2]!), state: cols[3]!, inode: cols[9]! });
    }
  }
  return sockets;
}

/** "0100007F:1F90" -> 8080 */
function portOf(address: string): number {
  return parseInt(address.split(":")[1] ?? "", 16);
}
