// ProvisionRequest -> the Nomad job registered for the instance. One job "cp-<instance_id>", one group "workload"
// (count = the MAIN service's replicas), one docker task per service; all tasks share the group's bridge network,
// so every port is declared once at the group with `To` = the container port. The job itself records what Status
// needs later (roles via Lifecycle, port protocols in task Meta), so no state lives outside Nomad.
// Exported helpers are reused by the releases family (Deploy patches images/env/checks of an existing job).

import { durationMs } from "@bufbuild/protobuf/wkt";
import {
  ServiceRole,
  WorkloadKind,
  type HealthCheckSpec,
  type Port as PortSpec,
  type ProvisionRequest,
  type ServiceSpec,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { Job, Port, RequestedDevice, Service, Task, TaskGroup, Template, VolumeMount, VolumeRequest } from "../nomad/types.js";
import type { ProviderSettings } from "./provider-deps.js";
import { jobIdFor, taskGroupName } from "./instance-id.js";
import { envCommentOrBlank, isMain } from "./validation.js";
import { secretsTemplate } from "./secrets.js";

const S = 1_000_000_000;

/** Meta keys the plugin writes (job Meta unless noted). */
export const metaKeys = {
  instance: "ctrlplane.instance",
  tenant: "ctrlplane.tenant",
  kind: "ctrlplane.kind",
  name: "ctrlplane.name",
  labelPrefix: "ctrlplane.label.",
  release: "ctrlplane.release",
  /** Task Meta: the ctrlplane service name and role. */
  service: "ctrlplane.service",
  role: "ctrlplane.role",
  /** Task Meta: comma-separated depends_on. */
  dependsOn: "ctrlplane.depends_on",
  /** Task Meta prefix: ctrlplane.port.<label> = protocol. */
  portPrefix: "ctrlplane.port.",
} as const;

/**
 * The update stanza of a provisioned instance. Nomad's defaults (10 s min healthy time) hold every Scale and Start
 * behind a deployment for at least 10 s, and Nomad refuses count changes while one is active; an instance that has
 * no release history gains nothing from the wait. Deploy replaces this stanza with its own options.
 */
export const provisionUpdate = {
  MaxParallel: 1,
  HealthCheck: "checks",
  MinHealthyTime: 2 * S,
  HealthyDeadline: 5 * 60 * S,
  ProgressDeadline: 10 * 60 * S,
  AutoRevert: false,
} as const;

export interface BuildJobOptions {
  /** undefined: the job carries no Region and Nomad places it in the agent's region. */
  region: string | undefined;
  namespace: string;
  settings: Pick<ProviderSettings, "datacenters" | "cpuMhzPerCore">;
}

/** The full job for a validated ProvisionRequest. */
export function buildJob(req: ProvisionRequest, options: BuildJobOptions): Job {
  const jobId = jobIdFor(req.instanceId);
  const main = req.services.find((s) => isMain(s.role));
  const group: TaskGroup = {
    Name: taskGroupName,
    Count: main?.resources?.replicas ?? 1,
    Networks: [groupNetwork(req.services)],
    Tasks: req.services.map((svc) => buildTask(svc, options.settings.cpuMhzPerCore, jobId)),
    Services: req.services.flatMap(buildServices),
    Meta: { [metaKeys.instance]: req.instanceId },
    Update: { ...provisionUpdate },
  };
  const diskMb = Math.max(0, ...req.services.map((s) => s.resources?.diskMb ?? 0));
  if (diskMb > 0) group.EphemeralDisk = { SizeMB: diskMb };
  const volumes = groupVolumes(req);
  if (Object.keys(volumes).length > 0) group.Volumes = volumes;

  return {
    ID: jobId,
    Name: jobId,
    Type: "service",
    ...(options.region ? { Region: options.region } : {}),
    Namespace: options.namespace,
    Datacenters: options.settings.datacenters.length > 0 ? [...options.settings.datacenters] : ["*"],
    Meta: jobMeta(req),
    TaskGroups: [group],
  };
}

function jobMeta(req: ProvisionRequest): Record<string, string> {
  const meta: Record<string, string> = {
    [metaKeys.instance]: req.instanceId,
    [metaKeys.tenant]: req.tenantId,
    [metaKeys.kind]: req.kind === WorkloadKind.STATEFUL_SET ? "stateful_set" : "deployment",
  };
  if (req.name) meta[metaKeys.name] = req.name;
  for (const [k, v] of Object.entries(req.labels)) meta[`${metaKeys.labelPrefix}${k}`] = v;
  return meta;
}

/** The Nomad port label of a declared port. */
export function portLabel(port: Pick<PortSpec, "name" | "container">): string {
  return port.name || `p${port.container}`;
}

function groupNetwork(services: ServiceSpec[]) {
  const reserved: Port[] = [];
  const dynamic: Port[] = [];
  for (const port of services.flatMap((s) => s.ports)) {
    if (port.host > 0) reserved.push({ Label: portLabel(port), Value: port.host, To: port.container });
    else dynamic.push({ Label: portLabel(port), To: port.container });
  }
  return { Mode: "bridge", ReservedPorts: reserved, DynamicPorts: dynamic };
}

/** Nomad CPU is MHz; ctrlplane asks in millicores. 0 leaves Nomad's default. */
export function cpuMhz(cpuMillis: number, mhzPerCore: number): number | undefined {
  if (cpuMillis <= 0) return undefined;
  return Math.max(1, Math.round((cpuMillis * mhzPerCore) / 1000));
}

/** "2" -> 2 x nvidia/gpu; "vendor/type[/name]:n" -> n x that device. */
export function gpuDevice(gpu: string): RequestedDevice | undefined {
  if (!gpu) return undefined;
  if (/^\d+$/.test(gpu)) return { Name: "nvidia/gpu", Count: Number(gpu) };
  const at = gpu.lastIndexOf(":");
  return { Name: gpu.slice(0, at), Count: Number(gpu.slice(at + 1)) };
}

export function lifecycleFor(role: ServiceRole): Task["Lifecycle"] {
  if (role === ServiceRole.INIT) return { Hook: "prestart", Sidecar: false };
  if (role === ServiceRole.SIDECAR) return { Hook: "poststart", Sidecar: true };
  return undefined;
}

export function roleName(role: ServiceRole): "main" | "sidecar" | "init" {
  return role === ServiceRole.INIT ? "init" : role === ServiceRole.SIDECAR ? "sidecar" : "main";
}

/**
 * Docker driver config. ServiceSpec.command replaces the image's ENTRYPOINT (docker `entrypoint`, which also drops
 * the image's CMD) and ServiceSpec.args its CMD (docker `command` = the first word, `args` = the rest).
 */
export function dockerConfig(svc: Pick<ServiceSpec, "image" | "ports" | "command" | "args">): Record<string, unknown> {
  const config: Record<string, unknown> = { image: svc.image };
  if (svc.ports.length > 0) config.ports = svc.ports.map(portLabel);
  if (svc.command.length > 0) config.entrypoint = [...svc.command];
  if (svc.args.length > 0) {
    config.command = svc.args[0];
    if (svc.args.length > 1) config.args = svc.args.slice(1);
  }
  return config;
}

/** jobId is needed when the service has secrets: its template reads the job's Nomad Variable. */
export function buildTask(svc: ServiceSpec, mhzPerCore: number, jobId?: string): Task {
  const r = svc.resources;
  const resources: Task["Resources"] = {};
  const cpu = cpuMhz(r?.cpuMillis ?? 0, mhzPerCore);
  if (cpu !== undefined) resources.CPU = cpu;
  if (r?.memoryMb) resources.MemoryMB = r.memoryMb;
  const device = gpuDevice(r?.gpu ?? "");
  if (device) resources.Devices = [device];

  const meta: Record<string, string> = { ...svc.annotations, [metaKeys.service]: svc.name, [metaKeys.role]: roleName(svc.role) };
  if (svc.dependsOn.length > 0) meta[metaKeys.dependsOn] = svc.dependsOn.join(",");
  for (const port of svc.ports) meta[`${metaKeys.portPrefix}${portLabel(port)}`] = port.protocol || "tcp";

  const task: Task = { Name: svc.name, Driver: "docker", Config: dockerConfig(svc), Resources: resources, Meta: meta };
  if (Object.keys(svc.env).length > 0) task.Env = { ...svc.env };
  const lifecycle = lifecycleFor(svc.role);
  if (lifecycle) task.Lifecycle = lifecycle;
  const templates = svc.configFiles.map(configTemplate);
  if (svc.secrets.length > 0) {
    if (!jobId) throw new Error("buildTask: a service with secrets needs the job ID");
    templates.push(secretsTemplate(jobId, svc));
  }
  if (templates.length > 0) task.Templates = templates;
  const mounts = volumeMounts(svc);
  if (mounts.mounts.length > 0) task.VolumeMounts = mounts.mounts;
  if (mounts.binds.length > 0) task.Config.volumes = mounts.binds;
  return task;
}

/**
 * A config file rendered verbatim: delimiters that do not occur in the content keep "{{" literal. An "env" file
 * loses its blank and comment-only lines, which Nomad's env-file parser refuses.
 */
function configTemplate(file: ServiceSpec["configFiles"][number]): Template {
  let n = 0;
  while (file.content.includes(`[[cp${n}`) || file.content.includes(`cp${n}]]`)) n++;
  const content = file.format === "env" ? file.content.split("\n").filter((l) => !envCommentOrBlank(l)).join("\n") + "\n" : file.content;
  return {
    EmbeddedTmpl: content,
    DestPath: file.path.startsWith("/") ? file.path.slice(1) : file.path,
    ChangeMode: "restart",
    Envvars: file.format === "env",
    LeftDelim: `[[cp${n}`,
    RightDelim: `cp${n}]]`,
  };
}

/** Group volume names are per instance, service volume names per service: prefix with the service. */
export function groupVolumeName(service: string, volume: string): string {
  return `${service}-${volume}`;
}

function groupVolumes(req: ProvisionRequest): Record<string, VolumeRequest> {
  const out: Record<string, VolumeRequest> = {};
  const perAlloc = req.kind === WorkloadKind.STATEFUL_SET;
  for (const svc of req.services) {
    for (const v of svc.volumes) {
      if (v.type !== "host" && v.type !== "csi") continue;
      const name = groupVolumeName(svc.name, v.name);
      const volume: VolumeRequest = { Name: name, Type: v.type, Source: v.source || v.name, ReadOnly: v.readOnly };
      if (v.type === "csi") {
        volume.AccessMode = v.readOnly ? "multi-node-reader-only" : "single-node-writer";
        volume.AttachmentMode = "file-system";
        volume.PerAlloc = perAlloc;
      }
      out[name] = volume;
    }
  }
  return out;
}

/** Host/CSI volumes mount through the group; ephemeral ones are directories of the allocation bound in. */
function volumeMounts(svc: ServiceSpec): { mounts: VolumeMount[]; binds: string[] } {
  const mounts: VolumeMount[] = [];
  const binds: string[] = [];
  for (const v of svc.volumes) {
    if (v.type === "host" || v.type === "csi") {
      mounts.push({ Volume: groupVolumeName(svc.name, v.name), Destination: v.mountPath, ReadOnly: v.readOnly });
    } else {
      binds.push(`../alloc/data/${groupVolumeName(svc.name, v.name)}:${v.mountPath}${v.readOnly ? ":ro" : ""}`);
    }
  }
  return { mounts, binds };
}

/** A Nomad-native service (provider "nomad", no Consul needed) per service with a health check. */
export function buildServices(svc: ServiceSpec): Service[] {
  if (!svc.healthCheck || svc.ports.length === 0) return [];
  return [healthService(svc.name, svc.ports, svc.healthCheck)];
}

export function healthService(taskName: string, ports: PortSpec[], hc: HealthCheckSpec): Service {
  const port = ports.find((p) => p.container === hc.port) ?? ports[0]!;
  const label = portLabel(port);
  const check: Service["Checks"] = [
    {
      Name: `${taskName}-health`,
      Type: hc.path ? "http" : "tcp",
      PortLabel: label,
      Interval: hc.interval ? Math.round(durationMs(hc.interval) * 1e6) : 10 * S,
      Timeout: hc.timeout ? Math.round(durationMs(hc.timeout) * 1e6) : 2 * S,
      ...(hc.path ? { Path: hc.path, Protocol: port.protocol === "https" ? "https" : "http" } : {}),
      ...(hc.retries > 0 ? { CheckRestart: { Limit: hc.retries } } : {}),
    },
  ];
  return { Name: taskName, PortLabel: label, TaskName: taskName, Provider: "nomad", Tags: ["ctrlplane"], Checks: check };
}
