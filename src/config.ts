// Start-up configuration from flags and environment. Flags win over CP_NOMAD_* variables, which win over the Nomad
// CLI's own NOMAD_* variables. Every bad value fails start-up with a ConfigError naming where it came from; secret
// values (tokens, keys) never appear in an error.

import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { parseLevel, parseLogFormat, type Level, type LogFormat } from "./log.js";
import type { NomadTlsOptions } from "./nomad/nomad-http.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The flag or environment variable at fault, e.g. "CP_NOMAD_ADDRESS" or "--listen". */
  readonly source: string;
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.source = source;
  }
}

export interface NomadConfig {
  address: string;
  token: string | undefined;
  /** undefined: no ?region= is sent and Nomad answers for the agent's own region. */
  region: string | undefined;
  namespace: string;
  tls: NomadTlsOptions | undefined;
}

export interface StandaloneConfig {
  /** host:port to listen on. */
  host: string;
  port: number;
  loopback: boolean;
  insecure: boolean;
  /** PEM server certificate and key, and the PEM CA that client certificates must chain to (mTLS). */
  tls: { cert: string; key: string; clientCa: string | undefined } | undefined;
  authToken: string | undefined;
  devAgent: boolean;
}

export interface Config {
  nomad: NomadConfig;
  datacenters: string[];
  cpuMhzPerCore: number;
  logLevel: Level;
  /** --log-format / CP_NOMAD_LOG_FORMAT; undefined = by mode (JSON for a host, text for a person at a terminal). */
  logFormat: LogFormat | undefined;
  /** Things the operator should hear about once logging is up (e.g. a secret given on the command line). */
  warnings: string[];
  magicCookieKey: string;
  magicCookieValue: string;
  /** Set with --listen: serve directly instead of the go-plugin handshake. */
  standalone: StandaloneConfig | undefined;
  help: boolean;
}

export const defaultMagicCookieKey = "CTRLPLANE_PLUGIN";
export const defaultMagicCookieValue = "nomad-provider";

const flagOptions = {
  "nomad-address": { type: "string" },
  "nomad-token": { type: "string" },
  "nomad-region": { type: "string" },
  "nomad-namespace": { type: "string" },
  "nomad-datacenter": { type: "string" },
  "nomad-cacert": { type: "string" },
  "nomad-client-cert": { type: "string" },
  "nomad-client-key": { type: "string" },
  "nomad-tls-server-name": { type: "string" },
  "nomad-skip-verify": { type: "boolean" },
  "cpu-mhz-per-core": { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "magic-cookie-key": { type: "string" },
  "magic-cookie-value": { type: "string" },
  listen: { type: "string" },
  insecure: { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "auth-token": { type: "string" },
  "dev-agent": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

export const usage = `Usage: nomad-provider [flags]

Launched by a ctrlplane host (go-plugin) it speaks the plugin handshake. For direct use:
  --listen 127.0.0.1:50051       serve gRPC (h2c) with reflection; non-loopback needs --insecure or --tls-cert/--tls-key
  --dev-agent                    run the embedded Nomad-API dev agent and use it
  --auth-token T                 require "authorization: Bearer T" (or CP_PLUGIN_AUTH_TOKEN)
  --tls-cert F --tls-key F       serve TLS; --tls-client-ca F additionally requires client certificates
Nomad: --nomad-address, --nomad-token, --nomad-region, --nomad-namespace, --nomad-datacenter (comma list),
  --nomad-cacert, --nomad-client-cert, --nomad-client-key, --nomad-tls-server-name, --nomad-skip-verify,
  --cpu-mhz-per-core, --log-level; or CP_NOMAD_* / NOMAD_* environment variables (prefer CP_NOMAD_TOKEN or
  NOMAD_TOKEN to --nomad-token: flags show in \`ps\`).
Logs (stderr): --log-format json|text (CP_NOMAD_LOG_FORMAT; default json, text when --listen runs on a terminal).
Plugin: --magic-cookie-key, --magic-cookie-value (default ${defaultMagicCookieKey}=${defaultMagicCookieValue}).
  --version                      print the version; --help, -h: this text
`;

/** --help or --version, read from the flags alone so that they answer whatever the environment holds. */
export function cliRequest(argv: readonly string[]): "help" | "version" | undefined {
  const flags = parseFlags(argv);
  return flags.help ? "help" : flags.version ? "version" : undefined;
}

type Flags = { [K in keyof typeof flagOptions]?: (typeof flagOptions)[K]["type"] extends "boolean" ? boolean : string };

interface Source {
  value: string;
  from: string;
}

export interface ConfigInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => string;
}

export function loadConfig({ argv, env, readFile = (p) => readFileSync(p, "utf8") }: ConfigInputs): Config {
  const flags = parseFlags(argv);
  const pick = (flag: keyof Flags, ...vars: string[]): Source | undefined => {
    const f = flags[flag];
    if (typeof f === "string") return { value: f, from: `--${flag}` };
    for (const v of vars) {
      const value = env[v];
      if (value !== undefined && value !== "") return { value, from: v };
    }
    return undefined;
  };
  const file = (source: Source | undefined): string | undefined => {
    if (!source) return undefined;
    try {
      return readFile(source.value);
    } catch (err) {
      throw new ConfigError(source.from, `cannot read ${source.value}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };

  const nomad: NomadConfig = {
    address: nomadAddress(pick("nomad-address", "CP_NOMAD_ADDRESS", "NOMAD_ADDR")),
    token: token(pick("nomad-token", "CP_NOMAD_TOKEN", "NOMAD_TOKEN")),
    region: optionalName(pick("nomad-region", "CP_NOMAD_REGION", "NOMAD_REGION")),
    namespace: name(pick("nomad-namespace", "CP_NOMAD_NAMESPACE", "NOMAD_NAMESPACE"), "default"),
    tls: nomadTls(flags, pick, file),
  };

  return {
    nomad,
    datacenters: datacenters(pick("nomad-datacenter", "CP_NOMAD_DATACENTER")),
    cpuMhzPerCore: positiveInt(pick("cpu-mhz-per-core", "CP_NOMAD_CPU_MHZ_PER_CORE"), 1000, 1_000_000),
    logLevel: logLevel(pick("log-level", "CP_NOMAD_LOG_LEVEL")),
    logFormat: logFormat(pick("log-format", "CP_NOMAD_LOG_FORMAT")),
    warnings: secretsOnCommandLine(flags),
    magicCookieKey: pick("magic-cookie-key")?.value ?? defaultMagicCookieKey,
    magicCookieValue: pick("magic-cookie-value")?.value ?? defaultMagicCookieValue,
    standalone: standalone(flags, pick, file),
    help: flags.help === true,
  };
}

function parseFlags(argv: readonly string[]): Flags {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: flagOptions, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new ConfigError(positionals[0]!, "unexpected argument (see nomad-provider --help)");
    return values as Flags;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw flagError(err as Error & { code?: string });
  }
}

/** node:util parseArgs' errors in our words: the flag at fault first, then the way to the list of flags. */
function flagError(err: Error & { code?: string }): ConfigError {
  const flag = /'(-[^' ]+)/.exec(err.message)?.[1] ?? "flags";
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new ConfigError(flag, "unknown flag (nomad-provider --help lists them)");
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /argument missing/.test(err.message)) {
    return new ConfigError(flag, "needs a value (see nomad-provider --help)");
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") return new ConfigError(flag, "takes no value (see nomad-provider --help)");
  return new ConfigError("flags", `${err.message} (see nomad-provider --help)`);
}

function nomadAddress(source: Source | undefined): string {
  if (!source) return "http://localhost:4646";
  let url: URL;
  try {
    url = new URL(source.value);
  } catch {
    throw new ConfigError(source.from, `"${source.value}" is not a URL (expected e.g. http://127.0.0.1:4646)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(source.from, `"${source.value}" must use http:// or https://`);
  }
  if (url.username || url.password) throw new ConfigError(source.from, "must not carry credentials; use CP_NOMAD_TOKEN");
  return url.toString().replace(/\/$/, "");
}

function token(source: Source | undefined): string | undefined {
  if (!source) return undefined;
  const value = source.value.trim();
  // The value itself is never echoed: it is a secret even when malformed.
  if (/[\s\x00-\x1f\x7f]/.test(value)) throw new ConfigError(source.from, "the token contains whitespace or control characters");
  return value || undefined;
}

function optionalName(source: Source | undefined): string | undefined {
  return source ? name(source, "") : undefined;
}

function name(source: Source | undefined, fallback: string): string {
  if (!source) return fallback;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(source.value)) {
    throw new ConfigError(source.from, `"${source.value}" is not a valid name (letters, digits, '_', '.', '-')`);
  }
  return source.value;
}

function datacenters(source: Source | undefined): string[] {
  if (!source) return [];
  const list = source.value.split(",").map((s) => s.trim());
  for (const dc of list) {
    if (!/^[A-Za-z0-9*][A-Za-z0-9_.*-]{0,127}$/.test(dc)) {
      throw new ConfigError(source.from, `"${dc}" is not a valid datacenter name in "${source.value}"`);
    }
  }
  return [...new Set(list)];
}

function positiveInt(source: Source | undefined, fallback: number, max: number): number {
  if (!source) return fallback;
  const n = /^\d+$/.test(source.value.trim()) ? Number(source.value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new ConfigError(source.from, `"${source.value}" must be a whole number between 1 and ${max}`);
  }
  return n;
}

function logFormat(source: Source | undefined): LogFormat | undefined {
  if (!source) return undefined;
  const format = parseLogFormat(source.value);
  if (!format) throw new ConfigError(source.from, `"${source.value}" must be json or text`);
  return format;
}

/** A flag's value is visible to every user of the machine in `ps`; the environment is not. */
function secretsOnCommandLine(flags: Flags): string[] {
  const warnings: string[] = [];
  if (typeof flags["nomad-token"] === "string") {
    warnings.push("--nomad-token on the command line is visible to other users in `ps`; prefer CP_NOMAD_TOKEN or NOMAD_TOKEN in the environment");
  }
  if (typeof flags["auth-token"] === "string") {
    warnings.push("--auth-token on the command line is visible to other users in `ps`; prefer CP_PLUGIN_AUTH_TOKEN in the environment");
  }
  return warnings;
}

function logLevel(source: Source | undefined): Level {
  if (!source) return "info";
  const level = parseLevel(source.value);
  if (!level) throw new ConfigError(source.from, `"${source.value}" must be one of trace, debug, info, warn, error`);
  return level;
}

/** Go's strconv.ParseBool, which the Nomad CLI uses for NOMAD_SKIP_VERIFY. */
function goBool(source: Source): boolean {
  if (/^(1|t|T|TRUE|true|True)$/.test(source.value)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(source.value)) return false;
  throw new ConfigError(source.from, `"${source.value}" must be true or false`);
}

type Pick = (flag: keyof Flags, ...vars: string[]) => Source | undefined;
type ReadSource = (source: Source | undefined) => string | undefined;

function nomadTls(flags: Flags, pick: Pick, file: ReadSource): NomadTlsOptions | undefined {
  const certSource = pick("nomad-client-cert", "CP_NOMAD_CLIENT_CERT", "NOMAD_CLIENT_CERT");
  const keySource = pick("nomad-client-key", "CP_NOMAD_CLIENT_KEY", "NOMAD_CLIENT_KEY");
  if (certSource && !keySource) throw new ConfigError(certSource.from, "a client certificate needs a key (NOMAD_CLIENT_KEY)");
  if (keySource && !certSource) throw new ConfigError(keySource.from, "a client key needs a certificate (NOMAD_CLIENT_CERT)");
  const skipSource = pick("nomad-skip-verify", "CP_NOMAD_SKIP_VERIFY", "NOMAD_SKIP_VERIFY");
  const tls: NomadTlsOptions = {
    ca: file(pick("nomad-cacert", "CP_NOMAD_CACERT", "NOMAD_CACERT")),
    cert: file(certSource),
    key: file(keySource),
    serverName: pick("nomad-tls-server-name", "CP_NOMAD_TLS_SERVER_NAME", "NOMAD_TLS_SERVER_NAME")?.value,
    skipVerify: flags["nomad-skip-verify"] === true || (skipSource ? goBool(skipSource) : false),
  };
  const used = Object.values(tls).some((v) => v !== undefined && v !== false);
  return used ? tls : undefined;
}

function standalone(flags: Flags, pick: Pick, file: ReadSource): StandaloneConfig | undefined {
  const listen = pick("listen");
  const tlsFlags = [pick("tls-cert"), pick("tls-key"), pick("tls-client-ca")];
  if (!listen) {
    const stray = tlsFlags.find(Boolean) ?? (flags.insecure ? { from: "--insecure" } : undefined) ?? (flags["dev-agent"] ? { from: "--dev-agent" } : undefined);
    if (stray) throw new ConfigError(stray.from, "only applies together with --listen");
    return undefined;
  }
  const { host, port } = hostPort(listen);
  const [certSource, keySource, caSource] = tlsFlags;
  if (!!certSource !== !!keySource) {
    throw new ConfigError(certSource ? "--tls-key" : "--tls-cert", "--tls-cert and --tls-key go together");
  }
  if (caSource && !certSource) throw new ConfigError("--tls-client-ca", "needs --tls-cert and --tls-key");
  const tls = certSource ? { cert: file(certSource)!, key: file(keySource)!, clientCa: file(caSource) } : undefined;
  const loopback = isLoopback(host);
  const insecure = flags.insecure === true;
  if (!loopback && !tls && !insecure) {
    throw new ConfigError(
      "--listen",
      `${host} is not a loopback address; serving plaintext there exposes Nomad control to the network. ` +
        "Use --tls-cert/--tls-key, or --insecure if that is really intended",
    );
  }
  const authSource = pick("auth-token", "CP_PLUGIN_AUTH_TOKEN");
  return { host, port, loopback, insecure, tls, authToken: token(authSource), devAgent: flags["dev-agent"] === true };
}

function hostPort(source: Source): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(source.value);
  const host = m?.[1] ?? m?.[2];
  if (!m || !host) throw new ConfigError(source.from, `"${source.value}" must be host:port, e.g. 127.0.0.1:50051`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(source.from, `port ${m[3]} is out of range (0-65535; 0 picks a free port)`);
  return { host, port };
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return isIP(host) === 6 && (host === "::1" || host === "0:0:0:0:0:0:0:1");
}
