// Request validation, before any Nomad call: every problem is INVALID_ARGUMENT whose message starts with the path
// of the offending field ("services[1].ports[0].container: ..."), so a half-valid request never creates half a job.

import { durationMs } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import {
  ServiceRole,
  WorkloadKind,
  type ProvisionRequest,
  type ResourceSpec,
  type ServiceSpec,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { invalidArgument } from "../errors.js";
import { jobIdFor } from "./instance-id.js";

const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const portLabel = /^[a-z0-9_]{1,63}$/;
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const metaKey = /^[A-Za-z0-9_.\-/]{1,128}$/;
const protocols = new Set(["", "tcp", "udp", "http", "https", "grpc"]);
const volumeTypes = new Set(["", "ephemeral", "host", "csi"]);
const configFormats = new Set(["", "json", "yaml", "env", "text"]);
const gpuPattern = /^(?:[1-9]\d{0,2}|[a-z0-9_-]+\/[a-z0-9_-]+(?:\/[A-Za-z0-9_. -]+)?:[1-9]\d{0,2})$/;

/** Upper bounds that catch unit mistakes (MHz for millicores, bytes for MiB), not capacity limits. */
export const limits = {
  cpuMillis: 512_000,
  memoryMb: 4 * 1024 * 1024,
  diskMb: 64 * 1024 * 1024,
  replicas: 1_000,
  /** Nomad refuses less than 10 MiB of memory. */
  minMemoryMb: 10,
};

export function isMain(role: ServiceRole): boolean {
  return role === ServiceRole.MAIN || role === ServiceRole.UNSPECIFIED;
}

/** Validates a ProvisionRequest completely; throws the first problem found. */
export function validateProvisionRequest(req: ProvisionRequest): void {
  jobIdFor(req.instanceId);
  if (!(Object.values(WorkloadKind) as unknown[]).includes(req.kind)) throw invalidArgument("kind", `unknown kind ${req.kind}`);
  validateMeta(req.labels, "labels");
  if (req.services.length === 0) throw invalidArgument("services", "at least one service is required");
  validateServiceNames(req.services);
  validateRoles(req.services);
  req.services.forEach((svc, i) => validateService(svc, `services[${i}]`));
  req.services.forEach((svc, i) => validateSecretStorage(req.instanceId, svc, `services[${i}]`));
  validateInstancePorts(req.services);
  validateDependencies(req.services);
}

function validateServiceNames(services: ServiceSpec[]): void {
  const seen = new Set<string>();
  services.forEach((svc, i) => {
    const field = `services[${i}].name`;
    if (!svc.name) throw invalidArgument(field, "required");
    if (!dnsLabel.test(svc.name)) throw invalidArgument(field, `"${svc.name}" is not a DNS label (a-z, 0-9, '-', 1-63 chars)`);
    if (seen.has(svc.name)) throw invalidArgument(field, `duplicate service name "${svc.name}"`);
    seen.add(svc.name);
  });
}

function validateRoles(services: ServiceSpec[]): void {
  const known = Object.values(ServiceRole) as unknown[];
  services.forEach((svc, i) => {
    if (!known.includes(svc.role)) throw invalidArgument(`services[${i}].role`, `unknown role ${svc.role}`);
  });
  const mains = services.flatMap((svc, i) => (isMain(svc.role) ? [i] : []));
  if (mains.length === 0) throw invalidArgument("services", "exactly one MAIN service is required, found none");
  if (mains.length > 1) throw invalidArgument(`services[${mains[1]}].role`, "exactly one MAIN service is allowed");
}

function validateService(svc: ServiceSpec, at: string): void {
  if (!svc.image.trim()) throw invalidArgument(`${at}.image`, "required");
  validateResources(svc.resources, `${at}.resources`, false);
  for (const key of Object.keys(svc.env)) {
    if (!envName.test(key)) throw invalidArgument(`${at}.env[${key}]`, "not a valid environment variable name");
  }
  validateMeta(svc.annotations, `${at}.annotations`);
  svc.command.forEach((c, j) => c === "" && fail(`${at}.command[${j}]`, "must not be empty"));
  validatePorts(svc, at);
  validateVolumes(svc, at);
  validateHealthCheck(svc, at);
  validateSecrets(svc, at);
  validateConfigFiles(svc, at);
}

function fail(field: string, message: string): never {
  throw invalidArgument(field, message);
}

/** In Scale, 0 means "unchanged" and replicas unset means "unchanged": the same bounds apply. */
export function validateResources(r: ResourceSpec | undefined, at: string, _scale: boolean): void {
  if (!r) return;
  if (r.cpuMillis < 0 || r.cpuMillis > limits.cpuMillis) {
    fail(`${at}.cpu_millis`, `must be between 0 and ${limits.cpuMillis} millicores`);
  }
  if (r.memoryMb !== 0 && (r.memoryMb < limits.minMemoryMb || r.memoryMb > limits.memoryMb)) {
    fail(`${at}.memory_mb`, `must be 0 (default) or between ${limits.minMemoryMb} and ${limits.memoryMb} MiB`);
  }
  if (r.diskMb < 0 || r.diskMb > limits.diskMb) fail(`${at}.disk_mb`, `must be between 0 and ${limits.diskMb} MB`);
  if (r.replicas !== undefined && (r.replicas < 0 || r.replicas > limits.replicas)) {
    fail(`${at}.replicas`, `must be between 0 and ${limits.replicas}`);
  }
  if (r.gpu && !gpuPattern.test(r.gpu)) fail(`${at}.gpu`, `"${r.gpu}" is neither a count nor "<vendor>/<type>[/<name>]:<count>"`);
}

function validatePorts(svc: ServiceSpec, at: string): void {
  svc.ports.forEach((p, j) => {
    const field = `${at}.ports[${j}]`;
    if (!Number.isInteger(p.container) || p.container < 1 || p.container > 65535) {
      fail(`${field}.container`, "must be between 1 and 65535");
    }
    if (p.host < 0 || p.host > 65535) fail(`${field}.host`, "must be 0 (dynamic) or between 1 and 65535");
    if (!protocols.has(p.protocol)) fail(`${field}.protocol`, `unknown protocol "${p.protocol}"`);
    if (p.name && !portLabel.test(p.name)) fail(`${field}.name`, `"${p.name}" is not a valid port label ([a-z0-9_])`);
  });
}

/** All tasks share the group's network namespace: labels, container ports and host ports are instance-wide. */
function validateInstancePorts(services: ServiceSpec[]): void {
  const labels = new Map<string, string>();
  const containers = new Map<number, string>();
  const hosts = new Map<number, string>();
  services.forEach((svc, i) =>
    svc.ports.forEach((p, j) => {
      const field = `services[${i}].ports[${j}]`;
      const label = p.name || `p${p.container}`;
      const clash = (seen: Map<unknown, string>, key: unknown, sub: string, what: string) => {
        const other = seen.get(key);
        if (other) fail(`${field}.${sub}`, `${what} already used by ${other}`);
        seen.set(key, field);
      };
      clash(labels, label, p.name ? "name" : "container", `port label "${label}"`);
      clash(containers, p.container, "container", `container port ${p.container}`);
      if (p.host > 0) clash(hosts, p.host, "host", `host port ${p.host}`);
    }),
  );
}

function validateVolumes(svc: ServiceSpec, at: string): void {
  const names = new Set<string>();
  svc.volumes.forEach((v, j) => {
    const field = `${at}.volumes[${j}]`;
    if (!v.name) fail(`${field}.name`, "required");
    if (!dnsLabel.test(v.name)) fail(`${field}.name`, `"${v.name}" is not a DNS label`);
    if (names.has(v.name)) fail(`${field}.name`, `duplicate volume name "${v.name}"`);
    names.add(v.name);
    if (!v.mountPath.startsWith("/")) fail(`${field}.mount_path`, "must be an absolute path");
    if (v.sizeMb < 0) fail(`${field}.size_mb`, "must not be negative");
    if (!volumeTypes.has(v.type)) fail(`${field}.type`, `unknown volume type "${v.type}" (host, csi, ephemeral)`);
  });
}

function validateHealthCheck(svc: ServiceSpec, at: string): void {
  const hc = svc.healthCheck;
  if (!hc) return;
  const field = `${at}.health_check`;
  if (svc.ports.length === 0) fail(field, "a health check needs a port: the service declares none");
  if (hc.port !== 0 && !svc.ports.some((p) => p.container === hc.port)) {
    fail(`${field}.port`, `${hc.port} is not one of the service's container ports`);
  }
  if (hc.path && !hc.path.startsWith("/")) fail(`${field}.path`, 'must start with "/"');
  positiveDuration(hc.interval, `${field}.interval`);
  positiveDuration(hc.timeout, `${field}.timeout`);
  if (hc.retries < 0) fail(`${field}.retries`, "must not be negative");
}

function positiveDuration(d: Duration | undefined, field: string): void {
  if (d && durationMs(d) <= 0) fail(field, "must be positive");
}

function validateSecrets(svc: ServiceSpec, at: string): void {
  const names = new Set(Object.keys(svc.env));
  svc.secrets.forEach((s, j) => {
    const field = `${at}.secrets[${j}]`;
    if (!s.key) fail(`${field}.key`, "required");
    const name = secretEnvName(s.key, s.envKey);
    if (!envName.test(name)) fail(`${field}.${s.envKey ? "env_key" : "key"}`, `"${name}" is not a valid environment variable name`);
    if (names.has(name)) fail(`${field}.env_key`, `environment variable ${name} is set twice`);
    names.add(name);
  });
}

/** Nomad Variable limits (paths of at most 128 characters, 64 KiB of items) and what an env file can carry. */
function validateSecretStorage(instanceId: string, svc: ServiceSpec, at: string): void {
  if (svc.secrets.length === 0) return;
  // nomad/jobs/cp-<instance>/workload/<service>, spelled out here to keep validation free of the builder.
  const path = `nomad/jobs/cp-${instanceId}/workload/${svc.name}`;
  if (path.length > 128) {
    fail(`${at}.secrets`, `the Nomad Variable path for these secrets would be ${path.length} characters (Nomad allows 128); shorten instance_id or the service name`);
  }
  let size = 0;
  svc.secrets.forEach((s, j) => {
    // Never echo the value: only say what is wrong with it.
    if (/[\x00-\x08\x0b-\x1f]/.test(s.value)) {
      fail(`${at}.secrets[${j}].value`, "contains control characters other than newline and tab, which an environment variable file cannot carry");
    }
    size += Buffer.byteLength(secretEnvName(s.key, s.envKey)) + Buffer.byteLength(s.value);
  });
  if (size > 65536) fail(`${at}.secrets`, `${size} bytes of secrets; a Nomad Variable holds at most 65536`);
}

/** The variable a secret is exposed as: env_key, else the key in upper snake case. */
export function secretEnvName(key: string, envKey: string): string {
  return envKey || key.replace(/[^A-Za-z0-9]+/g, "_").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function validateConfigFiles(svc: ServiceSpec, at: string): void {
  const paths = new Set<string>();
  svc.configFiles.forEach((f, j) => {
    const field = `${at}.config_files[${j}]`;
    if (!f.path) fail(`${field}.path`, "required");
    if (f.path.split("/").includes("..")) fail(`${field}.path`, 'must not contain ".."');
    if (paths.has(f.path)) fail(`${field}.path`, `duplicate path "${f.path}"`);
    paths.add(f.path);
    if (!configFormats.has(f.format)) fail(`${field}.format`, `unknown format "${f.format}" (json, yaml, env, text)`);
    if (f.format === "env") validateEnvContent(f.content, `${field}.content`);
  });
}

/**
 * Nomad parses an env template with hashicorp/go-envparse and fails the task on a line it cannot read; catch
 * that here. Blank and comment-only lines are fine: the job builder leaves them out of the template.
 */
function validateEnvContent(content: string, field: string): void {
  content.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (envCommentOrBlank(line)) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? "" : line.slice(0, eq).trim().replace(/^export /, "");
    if (eq < 0 || !envName.test(key)) fail(field, `line ${i + 1} is not KEY=value`);
    if (/[\x00-\x08\x0b-\x1f]/.test(line)) fail(field, `line ${i + 1} contains a control character`);
  });
}

export function envCommentOrBlank(line: string): boolean {
  return /^\s*(#.*)?\r?$/.test(line);
}

function validateMeta(map: Record<string, string>, at: string): void {
  for (const key of Object.keys(map)) {
    if (!metaKey.test(key)) fail(`${at}[${key}]`, "keys are 1-128 letters, digits, '_', '.', '-' or '/'");
  }
}

/** depends_on must name other services of the instance and must not form a cycle. */
function validateDependencies(services: ServiceSpec[]): void {
  const index = new Map(services.map((s, i) => [s.name, i]));
  services.forEach((svc, i) =>
    svc.dependsOn.forEach((dep, j) => {
      const field = `services[${i}].depends_on[${j}]`;
      if (!index.has(dep)) fail(field, `unknown service "${dep}"`);
      if (dep === svc.name) fail(field, "a service cannot depend on itself");
    }),
  );
  // Iterative depth-first search: a chain of thousands of services must not overflow the stack.
  const state = new Map<string, "visiting" | "done">();
  for (const root of services) {
    if (state.has(root.name)) continue;
    const path: string[] = [root.name];
    const next: number[] = [0];
    state.set(root.name, "visiting");
    while (path.length > 0) {
      const name = path[path.length - 1]!;
      const deps = services[index.get(name)!]!.dependsOn;
      const at = next[next.length - 1]!;
      if (at === deps.length) {
        state.set(name, "done");
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = at + 1;
      const dep = deps[at]!;
      if (state.get(dep) === "done") continue;
      if (state.get(dep) === "visiting") {
        const cycle = [...path.slice(path.indexOf(dep)), dep];
        fail(`services[${index.get(dep)}].depends_on`, `dependency cycle: ${cycle.join(" -> ")}`);
      }
      state.set(dep, "visiting");
      path.push(dep);
      next.push(0);
    }
  }
}
