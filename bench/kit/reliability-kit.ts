// What bench/status-latency.mjs and bench/load.mjs need from TypeScript sources, bundled at run time by
// bench/kit/load-kit.mjs: the dev agent and the plugin as separate processes (so the bench process only plays
// the client), a typed gRPC client, and the RSS of a process.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createProviderClient, type ProviderClient } from "../../test/helpers/provider-client.js";

export { LogStream, ServiceRole, InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
export { createProviderClient };
export type { ProviderClient };

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** http://... for the agent, host:port for the plugin. */
  address: string;
  stop(): Promise<void>;
}

/** Spawns `node args...` and resolves once `find` recognises a line of its stderr (returning the address). */
function spawnUntil(args: string[], env: NodeJS.ProcessEnv, find: (line: string) => string | undefined): Promise<Proc> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split("\n")) {
        const address = find(line);
        if (!address) continue;
        child.stderr!.off("data", onData);
        child.stderr!.resume();
        resolve({
          child,
          pid: child.pid!,
          address,
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once("exit", () => r());
              child.kill("SIGTERM");
            }),
        });
        return;
      }
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}: ${buffered.slice(-500)}`)));
  });
}

/** The dev agent (dist/devagent.js) on an ephemeral port, with extra flags (e.g. --driver-override mock_driver). */
export function startAgentProcess(entry: string, extraArgs: string[] = []): Promise<Proc> {
  return spawnUntil([entry, "--port", "0", ...extraArgs], { PATH: process.env.PATH }, (line) => /listening on (http\S+)/.exec(line)?.[1]);
}

/** The plugin (dist/main.js) standalone on an ephemeral loopback port against nomadAddress. */
export function startPluginProcess(entry: string, nomadAddress: string): Promise<Proc> {
  return spawnUntil([entry, "--listen", "127.0.0.1:0"], { PATH: process.env.PATH, CP_NOMAD_ADDRESS: nomadAddress, CP_NOMAD_LOG_LEVEL: "info" }, (line) => {
    if (!line.startsWith("{")) return undefined;
    try {
      const rec = JSON.parse(line) as { "@message"?: string; address?: string };
      return rec["@message"] === "listening" ? rec.address : undefined;
    } catch {
      return undefined;
    }
  });
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A one-service instance (a shell loop printing a line every 100 ms) with one port. */
export function provisionRequest(instanceId: string) {
  return {
    instanceId,
    services: [
      {
        name: "main",
        image: "busybox",
        role: 1,
        ports: [{ container: 8080 }],
        command: ["/bin/sh", "-c", "while :; do echo tick; sleep 0.1; done"],
      },
    ],
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
