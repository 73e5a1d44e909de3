// The environment Nomad gives a task (NOMAD_* runtime variables, ports, meta, the task's Env with ${...}
// interpolation) and the task directory layout it points into.

import { hostname } from "node:os";
import { join } from "node:path";
import type { AllocRunSpec } from "../alloc-runtime.js";

export interface TaskDirs {
  /** <allocDir>/<task>: the task's working directory. */
  taskDir: string;
  /** <allocDir>/<task>/local */
  localDir: string;
  /** <allocDir>/<task>/secrets */
  secretsDir: string;
  /** <allocDir>/alloc: shared by the group's tasks. */
  sharedDir: string;
  /** <allocDir>/alloc/logs */
  logDir: string;
}

export function taskDirs(allocDir: string, task: string): TaskDirs {
  const taskDir = join(allocDir, task);
  return {
    taskDir,
    localDir: join(taskDir, "local"),
    secretsDir: join(taskDir, "secrets"),
    sharedDir: join(allocDir, "alloc"),
    logDir: join(allocDir, "alloc", "logs"),
  };
}

/** Host variables a process needs to find its tools; the agent's own environment (and any token in it) stays out. */
const inheritedHostVars = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR"];

function metaKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_.]/g, "_");
}

/** Job, group and task Meta merged (most specific wins), as Nomad does for NOMAD_META_* and ${meta.*}. */
export function mergedMeta(spec: AllocRunSpec, task: Record<string, any>): Record<string, string> {
  return { ...(spec.job.Meta ?? {}), ...(spec.group.Meta ?? {}), ...(task.Meta ?? {}) };
}

function portVars(spec: AllocRunSpec, env: Record<string, string>): void {
  for (const port of spec.ports) {
    const label = port.Label.replace(/[^A-Za-z0-9_]/g, "_");
    const ip = port.HostIP || "127.0.0.1";
    // No network namespace exists here, so a `to` mapping cannot be realised: the task shares the host network
    // and must bind the host port, which is what NOMAD_PORT_* carries (as with Nomad's host network mode).
    env[`NOMAD_PORT_${label}`] = String(port.Value);
    env[`NOMAD_HOST_PORT_${label}`] = String(port.Value);
    env[`NOMAD_IP_${label}`] = ip;
    env[`NOMAD_HOST_IP_${label}`] = ip;
    env[`NOMAD_ADDR_${label}`] = `${ip}:${port.Value}`;
    env[`NOMAD_HOST_ADDR_${label}`] = `${ip}:${port.Value}`;
    env[`NOMAD_ALLOC_PORT_${label}`] = String(port.To || port.Value);
    env[`NOMAD_ALLOC_IP_${label}`] = ip;
    env[`NOMAD_ALLOC_ADDR_${label}`] = `${ip}:${port.To || port.Value}`;
  }
}

function runtimeVars(spec: AllocRunSpec, task: Record<string, any>, dirs: TaskDirs): Record<string, string> {
  const resources = task.Resources ?? {};
  const env: Record<string, string> = {
    NOMAD_ALLOC_DIR: dirs.sharedDir,
    NOMAD_TASK_DIR: dirs.localDir,
    NOMAD_SECRETS_DIR: dirs.secretsDir,
    NOMAD_ALLOC_ID: spec.allocId,
    NOMAD_SHORT_ALLOC_ID: spec.allocId.slice(0, 8),
    NOMAD_ALLOC_NAME: spec.allocName,
    NOMAD_ALLOC_INDEX: String(spec.allocIndex),
    NOMAD_GROUP_NAME: String(spec.group.Name ?? ""),
    NOMAD_JOB_NAME: String(spec.job.Name ?? spec.job.ID ?? ""),
    NOMAD_JOB_ID: String(spec.job.ID ?? ""),
    NOMAD_TASK_NAME: String(task.Name ?? ""),
    NOMAD_NAMESPACE: spec.namespace,
    NOMAD_REGION: spec.region,
    NOMAD_DC: spec.datacenter,
    NOMAD_CPU_LIMIT: String(resources.CPU ?? 100),
    NOMAD_MEMORY_LIMIT: String(resources.MemoryMB ?? 300),
  };
  if (spec.job.ParentID) env.NOMAD_JOB_PARENT_ID = String(spec.job.ParentID);
  if (resources.MemoryMaxMB) env.NOMAD_MEMORY_MAX_LIMIT = String(resources.MemoryMaxMB);
  portVars(spec, env);
  for (const [key, value] of Object.entries(mergedMeta(spec, task))) {
    env[`NOMAD_META_${metaKey(key)}`] = String(value);
    env[`NOMAD_META_${metaKey(key).toUpperCase()}`] = String(value);
  }
  return env;
}

/** Resolves Nomad's ${...} runtime interpolation; unknown references are left as written, as Nomad does. */
export function interpolate(value: string, env: Record<string, string>, spec: AllocRunSpec, meta: Record<string, string>): string {
  return value.replace(/\$\{([^}]+)\}/g, (whole, raw: string) => {
    const ref = raw.trim();
    const envRef = /^env\[["'](.+)["']\]$/.exec(ref);
    if (envRef) return env[envRef[1]!] ?? whole;
    if (ref.startsWith("meta.")) return meta[ref.slice(5)] ?? whole;
    const node: Record<string, string> = {
      "node.unique.id": spec.nodeId,
      "node.unique.name": spec.nodeName,
      "node.datacenter": spec.datacenter,
      "node.region": spec.region,
      "node.class": "",
      "attr.kernel.name": "linux",
      "attr.unique.hostname": hostname(),
      "attr.cpu.arch": process.arch === "x64" ? "amd64" : process.arch,
      "attr.os.name": "linux",
    };
    return env[ref] ?? node[ref] ?? whole;
  });
}

/** The full environment of a task: host basics, NOMAD_* runtime variables, then the task's own Env. */
export function buildTaskEnv(spec: AllocRunSpec, task: Record<string, any>, dirs: TaskDirs, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of inheritedHostVars) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, runtimeVars(spec, task, dirs));
  const meta = mergedMeta(spec, task);
  for (const [key, value] of Object.entries((task.Env ?? {}) as Record<string, unknown>)) {
    env[key] = interpolate(String(value ?? ""), env, spec, meta);
  }
  Object.assign(env, extra);
  return env;
}
