// What the Logs benchmarks need from TypeScript sources, bundled by bench/kit/load-kit.mjs at run time (bench
// scripts are plain .mjs): the dev agent (run inside the bench process), a typed gRPC client, and the plugin process.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { readTcpTable } from "../../src/devagent/sched/tcp-table.js";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { createProviderClient, createServiceClient, type ProviderClient } from "../../test/helpers/provider-client.js";

export { LogStream } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
export { startDevAgent, createProviderClient };
export type { DevAgent, ProviderClient };

export interface PluginProcess {
  child: ChildProcess;
  address: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A ProviderClient with an HTTP/2 receive window of `windowBytes`. grpc-js keeps 64 KiB unless told; grpc-go, the
 * library of the real host, sizes its window by bandwidth-delay probing, up to 16 MiB.
 */
export function createProviderClientWithWindow(target: string, windowBytes: number): ProviderClient {
  return createServiceClient(ProviderService, target, undefined, { "grpc-node.flow_control_window": windowBytes }) as ProviderClient;
}

/** Runs the plugin (dist/main.js, passed as `entry`) standalone on an ephemeral port against `nomadAddress`. */
export function startPlugin(entry: string, nomadAddress: string): Promise<PluginProcess> {
  // BENCH_PLUGIN_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the plugin side.
  const nodeArgs = (process.env.BENCH_PLUGIN_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, entry, "--listen", "127.0.0.1:0", "--nomad-address", nomadAddress], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH, CP_NOMAD_LOG_LEVEL: "info" },
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split("\n")) {
        try {
          const rec = JSON.parse(line) as { "@message"?: string; address?: string };
          if (rec["@message"] === "listening" && rec.address) {
            child.stderr!.off("data", onData);
            child.stderr!.resume();
            resolve({
              child,
              address: rec.address,
              pid: child.pid!,
              stop: () =>
                new Promise<void>((r) => {
                  if (child.exitCode !== null) return r();
                  child.once("exit", () => r());
                  child.kill("SIGTERM");
                }),
            });
          }
        } catch {
          // not a complete JSON line yet
        }
      }
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`plugin exited ${code} before listening: ${buffered.slice(-500)}`)));
  });
}

/** Registers cp-<instance> running `script` under /bin/sh (raw_exec) in `count` allocations; resolves their IDs once running. */
export async function runInstance(agent: DevAgent, instanceId: string, script: string, count = 1): Promise<string[]> {
  const job = {
    Job: {
      ID: `cp-${instanceId}`,
      TaskGroups: [
        {
          Name: "workload",
          Count: count,
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          Tasks: [{ Name: "app", Driver: "raw_exec", Resources: { CPU: 100, MemoryMB: 64 }, Config: { command: "/bin/sh", args: ["-c", script] } }],
        },
      ],
    },
  };
  const put = await fetch(`${agent.address}/v1/jobs`, { method: "PUT", body: JSON.stringify(job) });
  if (put.status !== 200) throw new Error(`register: ${put.status} ${await put.text()}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const allocs = (await (await fetch(`${agent.address}/v1/job/cp-${instanceId}/allocations`)).json()) as Array<{ ID: string; ClientStatus: string }>;
    const running = allocs.filter((a) => a.ClientStatus === "running");
    if (running.length === count) return running.map((a) => a.ID);
    if (Date.now() > deadline) throw new Error("allocations did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Established TCP connections of process `pid` to 127.0.0.1:`port` (from /proc: its socket inodes vs /proc/net/tcp). */
export function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  return readTcpTable().filter((s) => s.remotePort === port && s.state === "01" && inodes.has(s.inode)).length;
}
