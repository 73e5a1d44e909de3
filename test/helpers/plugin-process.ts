// Launches the built plugin (dist/main.js) exactly as a go-plugin host does — cookie, PLUGIN_PROTOCOL_VERSIONS and,
// for AutoMTLS, a fresh ECDSA P-521 CA:true host certificate in PLUGIN_CLIENT_CERT — and parses its handshake line.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";
import { afterAll } from "vitest";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { createServiceClient, type ProviderClient } from "./provider-client.js";

export const pluginEntry = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface HostCertificate {
  certPem: string;
  keyPem: string;
}

/** What go-plugin's host makes for AutoMTLS: ECDSA P-521, self-signed, CA:true, SAN localhost (openssl CLI). */
export function generateHostCertificate(): HostCertificate {
  const dir = mkdtempSync(join(tmpdir(), "host-cert-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes", "-sha512", "-days", "1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-subj", "/O=HashiCorp/CN=localhost",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
      "-addext", "extendedKeyUsage=clientAuth,serverAuth",
      "-addext", "subjectAltName=DNS:localhost",
    ], { stdio: "ignore" });
    return { certPem: readFileSync(join(dir, "cert.pem"), "utf8"), keyPem: readFileSync(join(dir, "key.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Handshake {
  core: string;
  app: string;
  network: string;
  address: string;
  protocol: string;
  /** The 6th field as printed (base64 DER, unpadded), when present. */
  cert: string | undefined;
  /** The plugin's certificate as PEM, when present. */
  certPem: string | undefined;
  /** The 7th field (go-plugin 1.6+ gRPC broker multiplexing), when present. */
  multiplex: string | undefined;
}

export function parseHandshake(line: string): Handshake {
  const [core = "", app = "", network = "", address = "", protocol = "", sixth, multiplex, ...rest] = line.trimEnd().split("|");
  const cert = sixth || undefined;
  if (rest.length > 0) throw new Error(`handshake line has too many fields: ${line}`);
  const certPem = cert
    ? `-----BEGIN CERTIFICATE-----\n${Buffer.from(cert, "base64").toString("base64").match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`
    : undefined;
  return { core, app, network, address, protocol, cert, certPem, multiplex };
}

export interface PluginProcess {
  child: ChildProcess;
  handshake: Handshake;
  /** The gRPC target, e.g. unix:/tmp/plugin1234.sock. */
  target: string;
  /** Host-side TLS credentials (AutoMTLS), or insecure ones without. */
  credentials: ChannelCredentials;
  /** Channel options a go-plugin host uses (TLS server name "localhost"). */
  channelOptions: Record<string, string>;
  hostCertificate: HostCertificate | undefined;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the process if still running and waits for it. */
  kill(): Promise<void>;
}

export interface StartPluginOptions {
  /** Default true: the host sends PLUGIN_CLIENT_CERT. */
  autoMtls?: boolean;
  env?: Record<string, string | undefined>;
  args?: string[];
  /** How long to wait for the handshake line. Default 10 s. */
  timeoutMs?: number;
}

/** The environment a go-plugin host gives its plugin (without the host's own environment). */
export function hostEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, CTRLPLANE_PLUGIN: "nomad-provider", PLUGIN_PROTOCOL_VERSIONS: "1", ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

export async function startPluginProcess(options: StartPluginOptions = {}): Promise<PluginProcess> {
  const hostCertificate = options.autoMtls === false ? undefined : generateHostCertificate();
  const child = spawn(process.execPath, [pluginEntry, ...(options.args ?? [])], {
    env: hostEnv({ ...(hostCertificate ? { PLUGIN_CLIENT_CERT: hostCertificate.certPem } : {}), ...options.env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };

  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no handshake line within ${options.timeoutMs ?? 10_000} ms; stderr: ${stderr}`)), options.timeoutMs ?? 10_000);
    const check = () => {
      const nl = stdout.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout!.off("data", check);
      resolve(stdout.slice(0, nl));
    };
    child.stdout!.on("data", check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`plugin exited (${code}) before the handshake; stderr: ${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await kill();
    throw err;
  });

  const handshake = parseHandshake(line);
  const target = handshake.network === "unix" ? `unix:${handshake.address}` : handshake.address;
  const creds =
    hostCertificate && handshake.certPem
      ? credentials.createSsl(Buffer.from(handshake.certPem), Buffer.from(hostCertificate.keyPem), Buffer.from(hostCertificate.certPem))
      : credentials.createInsecure();
  return {
    child,
    handshake,
    target,
    credentials: creds,
    channelOptions: { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": "localhost" },
    hostCertificate,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill,
  };
}

/** Runs the plugin to completion (for start-up failures) and returns what it wrote. */
export async function runPluginToExit(options: { env?: NodeJS.ProcessEnv; args?: string[]; timeoutMs?: number } = {}) {
  const child = spawn(process.execPath, [pluginEntry, ...(options.args ?? [])], { env: options.env ?? { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** An http:// address on loopback where nothing listens (a port just released), for "Nomad is down" tests. */
export async function refusingAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export interface StandaloneProcess {
  child: ChildProcess;
  /** host:port it listens on. */
  address: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/** Starts `dist/main.js --listen 127.0.0.1:0 ...args` and waits for its "listening" log line to learn the port. */
export async function startStandaloneProcess(options: { args?: string[]; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<StandaloneProcess> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const args = options.args ?? [];
  const child = spawn(process.execPath, [pluginEntry, ...(args.includes("--listen") ? [] : ["--listen", "127.0.0.1:0"]), ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`standalone plugin did not start listening; stderr: ${stderr}`)), options.timeoutMs ?? 10_000);
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      for (const line of stderr.split("\n")) {
        if (!line.startsWith("{")) continue;
        const record = JSON.parse(line) as { "@message"?: string; address?: string };
        if (record["@message"] === "listening" && record.address) {
          clearTimeout(timer);
          resolve(record.address);
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`standalone plugin exited (${code}); stderr: ${stderr}`));
    });
  }).catch(async (err: unknown) => {
    await kill();
    throw err;
  });
  return { child, address, stdout: () => stdout, stderr: () => stderr, exited, kill };
}

/** A ProviderService client over the plugin's own transport: its socket, the host's AutoMTLS credentials, its options. */
export function providerClientOf(plugin: PluginProcess): ProviderClient {
  return createServiceClient(ProviderService, plugin.target, plugin.credentials, plugin.channelOptions) as ProviderClient;
}

/**
 * For tests that start (and kill) several plugin processes against one Nomad: each call starts one and returns it
 * with a client; every process still running is killed after the file.
 */
export function pluginProcessesFor(nomadAddress: () => string): () => Promise<{ p: PluginProcess; client: ProviderClient }> {
  const started: PluginProcess[] = [];
  afterAll(async () => {
    for (const p of started) await p.kill();
  });
  return async () => {
    const p = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: nomadAddress() } });
    started.push(p);
    return { p, client: providerClientOf(p) };
  };
}
