// Standalone mode exposes Nomad control only where asked: a listen address without a host (Go's "all interfaces"
// shorthand) is refused rather than guessed, and a loopback name binds a loopback socket only — checked in the
// kernel's table of listening sockets, not in the plugin's own log.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runPluginToExit, startStandaloneProcess } from "../helpers/plugin-process.js";

/** Local addresses (hex, as in /proc/net/tcp{,6}) of the sockets listening on `port`. */
function listeningAddresses(port: number): string[] {
  const out: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== "0A") continue;
      const [addr, hexPort] = cols[1]!.split(":");
      if (parseInt(hexPort!, 16) === port) out.push(addr!);
    }
  }
  return out;
}

const ipv4Loopback = "0100007F"; // 127.0.0.1, little-endian
const ipv6Loopback = "00000000000000000000000001000000"; // ::1

describe("standalone listen address", () => {
  it("refuses a port without a host instead of listening on every interface", async () => {
    const { code, stdout, stderr } = await runPluginToExit({ args: ["--listen", ":0"] });
    expect([code, stdout]).toEqual([1, ""]);
    expect(stderr).toMatch(/--listen: ":0" must be host:port/);
  });

  it("binds localhost to a loopback socket only", async () => {
    const plugin = await startStandaloneProcess({ args: ["--listen", "localhost:0"] });
    try {
      const port = Number(plugin.address.split(":").pop());
      const bound = listeningAddresses(port);
      expect(bound.length).toBeGreaterThan(0);
      for (const addr of bound) expect([ipv4Loopback, ipv6Loopback]).toContain(addr);
    } finally {
      await plugin.kill();
    }
  });
});
