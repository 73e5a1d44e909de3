// Processes the interop tests run: a client program run to completion, and the plugin in standalone mode.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
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

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface StandalonePlugin {
  /** host:port for gRPC clients (plaintext h2c). */
  target: string;
  /** Everything the plugin wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after 5 s counts as a failure for the caller to see: code null). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node dist/main.js --listen 127.0.0.1:<free port>` with extra args and waits until it accepts connections. */
export async function startStandalonePlugin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<StandalonePlugin> {
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(process.execPath, [pluginEntry(), "--listen", `127.0.0.1:${port}`, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout!.resume();
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

  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`standalone plugin did not start listening on 127.0.0.1:${port}\nstderr:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { target: `127.0.0.1:${port}`, stderr: () => stderr, stop };
}
