import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import {
  ProvisionRequestSchema,
  ServiceRole,
  WorkloadKind,
  type ProvisionRequest,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { validateProvisionRequest } from "../../src/provider/validation.js";
import { Code, ProviderError } from "../../src/errors.js";

function valid(): ProvisionRequest {
  return create(ProvisionRequestSchema, {
    instanceId: "inst_01h455vb4pex5vsknk084sn02q",
    tenantId: "ten_1",
    labels: { team: "a" },
    services: [
      { name: "migrate", image: "busybox", role: ServiceRole.INIT },
      {
        name: "web",
        image: "nginx:1.25",
        role: ServiceRole.MAIN,
        dependsOn: ["migrate"],
        resources: { cpuMillis: 500, memoryMb: 256, replicas: 2 },
        ports: [{ container: 8080, protocol: "http" }],
        healthCheck: { path: "/healthz", port: 8080 },
        env: { LOG_LEVEL: "debug" },
      },
      { name: "proxy", image: "envoy", role: ServiceRole.SIDECAR, ports: [{ container: 9901, host: 19901 }] },
    ],
  });
}

function rejects(mutate: (r: ProvisionRequest) => void): ProviderError {
  const req = valid();
  mutate(req);
  try {
    validateProvisionRequest(req);
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe(Code.InvalidArgument);
    return err as ProviderError;
  }
  throw new Error("request was accepted");
}

const web = (r: ProvisionRequest) => r.services[1]!;

describe("ProvisionRequest validation", () => {
  it("accepts a complete init + main + sidecar request", () => {
    expect(() => validateProvisionRequest(valid())).not.toThrow();
  });

  const cases: [string, (r: ProvisionRequest) => void, string][] = [
    ["missing instance id", (r) => (r.instanceId = ""), "instance_id"],
    ["instance id unsafe for a job ID", (r) => (r.instanceId = "inst/../x"), "instance_id"],
    ["instance id too long", (r) => (r.instanceId = "a".repeat(121)), "instance_id"],
    ["unknown kind", (r) => (r.kind = 7 as WorkloadKind), "kind"],
    ["bad label key", (r) => (r.labels["a b"] = "x"), "labels[a b]"],
    ["no services", (r) => (r.services = []), "services"],
    ["no MAIN", (r) => (web(r).role = ServiceRole.SIDECAR), "services"],
    ["two MAINs (unspecified counts as MAIN)", (r) => (r.services[2]!.role = ServiceRole.UNSPECIFIED), "services[2].role"],
    ["unknown role", (r) => (r.services[2]!.role = 9 as ServiceRole), "services[2].role"],
    ["empty service name", (r) => (web(r).name = ""), "services[1].name"],
    ["service name not a DNS label", (r) => (web(r).name = "Web_1"), "services[1].name"],
    ["duplicate service name", (r) => (r.services[2]!.name = "web"), "services[2].name"],
    ["empty image", (r) => (web(r).image = " "), "services[1].image"],
    ["depends_on unknown service", (r) => (web(r).dependsOn = ["db"]), "services[1].depends_on[0]"],
    ["depends_on itself", (r) => (web(r).dependsOn = ["web"]), "services[1].depends_on[0]"],
    [
      "depends_on cycle",
      (r) => {
        r.services[0]!.dependsOn = ["proxy"];
        r.services[2]!.dependsOn = ["web"];
      },
      "services[0].depends_on",
    ],
    ["container port 0", (r) => (web(r).ports[0]!.container = 0), "services[1].ports[0].container"],
    ["container port above 65535", (r) => (web(r).ports[0]!.container = 70000), "services[1].ports[0].container"],
    ["host port above 65535", (r) => (web(r).ports[0]!.host = 65536), "services[1].ports[0].host"],
    ["negative host port", (r) => (web(r).ports[0]!.host = -1), "services[1].ports[0].host"],
    ["duplicate host port", (r) => (web(r).ports[0]!.host = 19901), "services[2].ports[0].host"],
    ["duplicate container port in the shared network", (r) => (r.services[2]!.ports[0]!.container = 8080), "services[2].ports[0].container"],
    ["unknown protocol", (r) => (web(r).ports[0]!.protocol = "sctp"), "services[1].ports[0].protocol"],
    ["invalid port label", (r) => (web(r).ports[0]!.name = "Http-Port"), "services[1].ports[0].name"],
    ["negative replicas", (r) => (web(r).resources!.replicas = -1), "services[1].resources.replicas"],
    ["absurd replicas", (r) => (web(r).resources!.replicas = 100_000), "services[1].resources.replicas"],
    ["memory below Nomad's minimum", (r) => (web(r).resources!.memoryMb = 4), "services[1].resources.memory_mb"],
    ["memory given in bytes", (r) => (web(r).resources!.memoryMb = 268_435_456), "services[1].resources.memory_mb"],
    ["negative cpu", (r) => (web(r).resources!.cpuMillis = -5), "services[1].resources.cpu_millis"],
    ["absurd cpu", (r) => (web(r).resources!.cpuMillis = 10_000_000), "services[1].resources.cpu_millis"],
    ["negative disk", (r) => (web(r).resources!.diskMb = -1), "services[1].resources.disk_mb"],
    ["malformed gpu", (r) => (web(r).resources!.gpu = "lots"), "services[1].resources.gpu"],
    ["bad env name", (r) => (web(r).env["1X"] = "v"), "services[1].env[1X]"],
    ["empty command word", (r) => (web(r).command = ["sh", ""]), "services[1].command[1]"],
    ["health check port not declared", (r) => (web(r).healthCheck!.port = 9999), "services[1].health_check.port"],
    ["health check without ports", (r) => ((web(r).ports = []), (web(r).healthCheck!.port = 0)), "services[1].health_check"],
    ["health check path without slash", (r) => (web(r).healthCheck!.path = "healthz"), "services[1].health_check.path"],
    ["health check zero interval", (r) => (web(r).healthCheck!.interval = durationFromMs(0)), "services[1].health_check.interval"],
    ["health check negative retries", (r) => (web(r).healthCheck!.retries = -1), "services[1].health_check.retries"],
    [
      "volume with relative mount path",
      (r) => web(r).volumes.push({ $typeName: "ctrlplane.provider.v1.Volume", name: "data", mountPath: "data", sizeMb: 1, type: "host", source: "", readOnly: false }),
      "services[1].volumes[0].mount_path",
    ],
    [
      "volume of unknown type",
      (r) => web(r).volumes.push({ $typeName: "ctrlplane.provider.v1.Volume", name: "data", mountPath: "/d", sizeMb: 1, type: "nfs", source: "", readOnly: false }),
      "services[1].volumes[0].type",
    ],
    [
      "duplicate volume name",
      (r) => {
        const v = { $typeName: "ctrlplane.provider.v1.Volume" as const, name: "data", mountPath: "/d", sizeMb: 1, type: "host", source: "", readOnly: false };
        web(r).volumes.push(v, { ...v, mountPath: "/e" });
      },
      "services[1].volumes[1].name",
    ],
    [
      "secret without key",
      (r) => web(r).secrets.push({ $typeName: "ctrlplane.provider.v1.SecretRef", key: "", type: "", value: "s", envKey: "" }),
      "services[1].secrets[0].key",
    ],
    [
      "secret env name clashes with env",
      (r) => web(r).secrets.push({ $typeName: "ctrlplane.provider.v1.SecretRef", key: "log-level", type: "", value: "s", envKey: "" }),
      "services[1].secrets[0].env_key",
    ],
    [
      "config file without path",
      (r) => web(r).configFiles.push({ $typeName: "ctrlplane.provider.v1.ConfigFile", name: "c", path: "", format: "json", content: "{}" }),
      "services[1].config_files[0].path",
    ],
    [
      "config file escaping the task dir",
      (r) => web(r).configFiles.push({ $typeName: "ctrlplane.provider.v1.ConfigFile", name: "c", path: "../x", format: "json", content: "{}" }),
      "services[1].config_files[0].path",
    ],
    [
      "config file of unknown format",
      (r) => web(r).configFiles.push({ $typeName: "ctrlplane.provider.v1.ConfigFile", name: "c", path: "c.toml", format: "toml", content: "" }),
      "services[1].config_files[0].format",
    ],
  ];

  it.each(cases)("rejects %s with the field path", (_name, mutate, field) => {
    const err = rejects(mutate);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
  });

  it("never echoes a secret value in the error", () => {
    const err = rejects((r) =>
      web(r).secrets.push({ $typeName: "ctrlplane.provider.v1.SecretRef", key: "log-level", type: "", value: "hunter2", envKey: "" }),
    );
    expect(err.message).not.toContain("hunter2");
  });
});
