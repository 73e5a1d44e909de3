// Processes the interop tests run: a client program run to completion, and the plugin in standalone mode.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { pluginEntry } from "./interop-build.js";

export interface ProgramResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to completion (killed at timeoutMs); never rejects on a non-zero exit, the caller asserts on it. */
export function runProgram(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<ProgramResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 50_000, maxBuffer: 64 << 20, cwd: options.cwd },
      (error, stdout, stderr) => {
        const failed = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: failed ? (typeof failed.code === "number" ? failed.code : null) : 0,
          signal: failed?.signal ?? null,
          stdout,
          stderr,
          ms: Math.round(performance.now() - start),
        });
      },
    );
    child.stdin?.end();
  });
}

/** The JSON report a client program prints as its last stdout line; the raw output is in the error if there is none. */
export function lastJsonLine<T>(result: ProgramResult): T {
  const line = result.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`no JSON report (exit ${result.code}, signal ${result.signal})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

export interface StandalonePlugin {
  /** host:port for gRPC clients (plaintext h2c). */
  target: string;
  /** Everything the plugin wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after 5 s counts as a failure for the caller to see: code null). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The address in the plugin's hclog "listening" line, once it has been written. */
function listeningAddress(stderr: string): string | undefined {
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record["@message"] === "listening" && typeof record.address === "string") return record.address;
    } catch {
      // a partial line: the rest is still to come
    }
  }
  return undefined;
}

/** Starts `node dist/main.js --listen 127.0.0.1:0` with extra args and waits for its "listening" log line. */
export async function startStandalonePlugin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<StandalonePlugin> {
  const child: ChildProcess = spawn(process.execPath, [pluginEntry(), "--listen", "127.0.0.1:0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.resume();
  let stderr = "";
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    return { code: child.exitCode, signal: child.signalCode };
  };

  const address = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 15_000);
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const found = listeningAddress(stderr);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  if (!address) {
    await stop();
    throw new Error(`standalone plugin did not log "listening" (exit ${child.exitCode}, ${child.signalCode})\nstderr:\n${stderr}`);
  }
  return { target: address, stderr: () => stderr, stop };
}
