import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ProvisionRequestSchema, ServiceRole, WorkloadKind } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { buildJob, cpuMhz } from "../../src/provider/job-builder.js";

const req = create(ProvisionRequestSchema, {
  instanceId: "inst_abc",
  tenantId: "ten_1",
  name: "My app",
  kind: WorkloadKind.STATEFUL_SET,
  labels: { team: "payments" },
  services: [
    { name: "migrate", image: "busybox", role: ServiceRole.INIT, command: ["/bin/sh", "-c", "echo migrate"] },
    {
      name: "web",
      image: "nginx:1.25",
      role: ServiceRole.MAIN,
      resources: { cpuMillis: 250, memoryMb: 128, diskMb: 500, replicas: 3, gpu: "2" },
      ports: [{ container: 8080, protocol: "http" }, { container: 9090, host: 19090, name: "admin" }],
      healthCheck: { path: "/healthz", port: 8080, interval: durationFromMs(5000), timeout: durationFromMs(1000), retries: 3 },
      env: { A: "1" },
      args: ["serve", "--port", "8080"],
      volumes: [{ name: "data", mountPath: "/var/data", type: "host" }, { name: "tmp", mountPath: "/scratch" }],
      annotations: { owner: "me" },
    },
    { name: "proxy", image: "envoy", role: ServiceRole.SIDECAR, resources: { diskMb: 800 } },
  ],
});

const job = buildJob(req, {
  region: "eu",
  namespace: "apps",
  settings: { datacenters: ["dc1"], cpuMhzPerCore: 2400 },
});
const group = job.TaskGroups[0]!;
const task = (name: string) => group.Tasks.find((t) => t.Name === name)!;

describe("job builder", () => {
  it("names the job after the instance and places it in the configured region, namespace and datacenters", () => {
    expect(job).toMatchObject({ ID: "cp-inst_abc", Name: "cp-inst_abc", Type: "service", Region: "eu", Namespace: "apps", Datacenters: ["dc1"] });
  });

  it("writes instance, tenant, kind, name and labels into job Meta", () => {
    expect(job.Meta).toEqual({
      "ctrlplane.instance": "inst_abc",
      "ctrlplane.tenant": "ten_1",
      "ctrlplane.kind": "stateful_set",
      "ctrlplane.name": "My app",
      "ctrlplane.label.team": "payments",
    });
  });

  it("has one group 'workload' whose count is the main service's replicas", () => {
    expect(group.Update).toMatchObject({ MaxParallel: 1, HealthCheck: "checks", MinHealthyTime: 2_000_000_000 });
    expect(job.TaskGroups).toHaveLength(1);
    expect(group.Name).toBe("workload");
    expect(group.Count).toBe(3);
  });

  it("defaults the count to 1 and the datacenters to all when unset", () => {
    const minimal = create(ProvisionRequestSchema, { instanceId: "x", services: [{ name: "m", image: "i" }] });
    const j = buildJob(minimal, { region: "global", namespace: "default", settings: { datacenters: [], cpuMhzPerCore: 1000 } });
    expect(j.TaskGroups[0]!.Count).toBe(1);
    expect(j.Datacenters).toEqual(["*"]);
  });

  it("keeps 0 replicas as a count of 0", () => {
    const zero = create(ProvisionRequestSchema, { instanceId: "x", services: [{ name: "m", image: "i", resources: { replicas: 0 } }] });
    expect(buildJob(zero, { region: "g", namespace: "d", settings: { datacenters: [], cpuMhzPerCore: 1000 } }).TaskGroups[0]!.Count).toBe(0);
  });

  it("maps roles to lifecycle hooks", () => {
    expect(task("migrate").Lifecycle).toEqual({ Hook: "prestart", Sidecar: false });
    expect(task("proxy").Lifecycle).toEqual({ Hook: "poststart", Sidecar: true });
    expect(task("web").Lifecycle).toBeUndefined();
  });

  it("declares every port once on the bridge network: static with a host port, dynamic otherwise, To = container", () => {
    expect(group.Networks).toEqual([
      {
        Mode: "bridge",
        ReservedPorts: [{ Label: "admin", Value: 19090, To: 9090 }],
        DynamicPorts: [{ Label: "p8080", To: 8080 }],
      },
    ]);
  });

  it("builds the docker config from image, ports, command and args", () => {
    expect(task("web").Config).toEqual({
      image: "nginx:1.25",
      ports: ["p8080", "admin"],
      command: "serve",
      args: ["--port", "8080"],
      volumes: ["../alloc/data/web-tmp:/scratch"],
    });
    expect(task("migrate").Config).toEqual({ image: "busybox", entrypoint: ["/bin/sh", "-c", "echo migrate"] });
  });

  it("converts millicores to MHz with the configured factor and keeps memory, GPUs and the largest disk", () => {
    expect(task("web").Resources).toEqual({ CPU: 600, MemoryMB: 128, Devices: [{ Name: "nvidia/gpu", Count: 2 }] });
    expect(task("migrate").Resources).toEqual({});
    expect(group.EphemeralDisk).toEqual({ SizeMB: 800 });
    expect(cpuMhz(1000, 1000)).toBe(1000);
    expect(cpuMhz(1, 1000)).toBe(1);
    expect(cpuMhz(0, 1000)).toBeUndefined();
  });

  it("registers a Nomad-native service with an http check built from the health check", () => {
    expect(group.Services).toEqual([
      {
        Name: "web",
        PortLabel: "p8080",
        TaskName: "web",
        Provider: "nomad",
        Tags: ["ctrlplane"],
        Checks: [
          {
            Name: "web-health",
            Type: "http",
            Path: "/healthz",
            Protocol: "http",
            PortLabel: "p8080",
            Interval: 5_000_000_000,
            Timeout: 1_000_000_000,
            CheckRestart: { Limit: 3 },
          },
        ],
      },
    ]);
  });

  it("mounts host volumes through the group and binds ephemeral ones from the allocation directory", () => {
    expect(group.Volumes).toEqual({ "web-data": { Name: "web-data", Type: "host", Source: "data", ReadOnly: false } });
    expect(task("web").VolumeMounts).toEqual([{ Volume: "web-data", Destination: "/var/data", ReadOnly: false }]);
  });

  it("keeps env, annotations and the port protocols in the task", () => {
    expect(task("web").Env).toEqual({ A: "1" });
    expect(task("web").Meta).toMatchObject({
      owner: "me",
      "ctrlplane.service": "web",
      "ctrlplane.role": "main",
      "ctrlplane.port.p8080": "http",
      "ctrlplane.port.admin": "tcp",
    });
  });

  it("renders config files verbatim even when they contain template delimiters", () => {
    const withFile = create(ProvisionRequestSchema, {
      instanceId: "x",
      services: [{ name: "m", image: "i", configFiles: [{ name: "c", path: "/etc/app.conf", format: "text", content: "A={{ not a template }}\n[[cp0" }] }],
    });
    const t = buildJob(withFile, { region: "g", namespace: "d", settings: { datacenters: [], cpuMhzPerCore: 1000 } }).TaskGroups[0]!.Tasks[0]!;
    expect(t.Templates).toEqual([
      { EmbeddedTmpl: "A={{ not a template }}\n[[cp0", DestPath: "etc/app.conf", ChangeMode: "restart", Envvars: false, LeftDelim: "[[cp1", RightDelim: "cp1]]" },
    ]);
  });

  it("exports an env config file without the comment and blank lines Nomad's env parser refuses", () => {
    const withEnv = create(ProvisionRequestSchema, {
      instanceId: "x",
      services: [{ name: "m", image: "i", configFiles: [{ name: "e", path: "app.env", format: "env", content: "# settings\nA=1\n\n  # more\nexport B='two'\n" }] }],
    });
    const t = buildJob(withEnv, { region: "g", namespace: "d", settings: { datacenters: [], cpuMhzPerCore: 1000 } }).TaskGroups[0]!.Tasks[0]!;
    expect(t.Templates![0]).toMatchObject({ EmbeddedTmpl: "A=1\nexport B='two'\n", DestPath: "app.env", Envvars: true });
  });
});
