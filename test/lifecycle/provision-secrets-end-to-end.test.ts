// ServiceSpec.secrets end to end through the plugin subprocess on the dev agent: the task sees each secret in its
// environment (through a Nomad Variable and a template), while the job JSON, the plugin's (debug) log and every
// error stay free of the values; a failed registration removes the variables; Deprovision deletes them.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { startPluginProcess, type PluginProcess, providerClientOf } from "../helpers/plugin-process.js";
import type { ProviderClient } from "../helpers/provider-client.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";

const dataDir = mkdtempSync(join(tmpdir(), "secrets-e2e-"));
const agent = useDevAgent({ dataDir });
let plugin: PluginProcess;
let client: ProviderClient;
const call = { deadlineMs: 20_000 };
// Characters an env file must escape, plus a unique marker to search for.
const password = 'pa$$ "w0rd" \\ <&> with\ttab and\nnewline s3cr3t-7f1c';
const token = "tok-9b2e-unique-token-value";

beforeAll(async () => {
  plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: agent().address, CP_NOMAD_LOG_LEVEL: "debug" } });
  client = providerClientOf(plugin);
});
afterAll(async () => {
  client?.close();
  await plugin?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

function request(instanceId: string, extra: Record<string, unknown> = {}) {
  return {
    instanceId,
    tenantId: "ten_s",
    services: [
      {
        name: "web",
        image: "busybox",
        role: ServiceRole.MAIN,
        secrets: [
          { key: "dbPassword", value: password },
          { key: "api", envKey: "API_TOKEN", value: token },
        ],
        command: ["/bin/sh", "-c", 'printf %s "$DB_PASSWORD" > "$NOMAD_ALLOC_DIR/password"; printf %s "$API_TOKEN" > "$NOMAD_ALLOC_DIR/token"; exec sleep 600'],
        ...extra,
      },
    ],
  };
}

async function allocFile(jobId: string, name: string): Promise<string> {
  return until(async () => {
    const allocs = (await api(agent(), "GET", `/v1/job/${jobId}/allocations`)).json as { ID: string; ClientStatus: string }[];
    const running = allocs.find((a) => a.ClientStatus === "running");
    if (!running) return undefined;
    try {
      return { text: readFileSync(join(dataDir, "alloc", running.ID, "alloc", name), "utf8") };
    } catch {
      return undefined;
    }
  }, `${name} written by the task`).then((r) => r.text);
}

describe("secrets through Nomad Variables", () => {
  it("the task gets every secret in its environment, byte for byte", async () => {
    const res = await client.provision(request("inst_sec1"), call);
    expect(res.state).toBe(InstanceState.RUNNING);
    expect(await allocFile("cp-inst_sec1", "password")).toBe(password);
    expect(await allocFile("cp-inst_sec1", "token")).toBe(token);
  });

  it("keeps the values in the variable at the task's workload-identity path, never in the job", async () => {
    const variable = await api(agent(), "GET", "/v1/var/nomad/jobs/cp-inst_sec1/workload/web");
    expect(variable.json.Items).toEqual({ DB_PASSWORD: password, API_TOKEN: token });
    const job = await api(agent(), "GET", "/v1/job/cp-inst_sec1");
    expect(job.text).not.toContain("s3cr3t-7f1c");
    expect(job.text).not.toContain(token);
    const versions = await api(agent(), "GET", "/v1/job/cp-inst_sec1/versions");
    expect(versions.text).not.toContain(token);
    const template = job.json.TaskGroups[0].Tasks[0].Templates.find((t: { DestPath: string }) => t.DestPath === "secrets/ctrlplane.env");
    expect(template).toMatchObject({ Envvars: true, ChangeMode: "restart" });
    expect(template.EmbeddedTmpl).toContain('nomadVar "nomad/jobs/cp-inst_sec1/workload/web"');
  });

  it("a Provision that cannot register leaves no variable behind, and says nothing secret", async () => {
    // A job that already exists for another tenant: the variables of its owner must not be touched either.
    const owner = await client.provision(request("inst_sec2"), call);
    expect(owner.state).toBe(InstanceState.RUNNING);
    const before = (await api(agent(), "GET", "/v1/var/nomad/jobs/cp-inst_sec2/workload/web")).json;
    const intruder = { ...request("inst_sec2", { secrets: [{ key: "other", value: "intruder-value" }] }), tenantId: "ten_intruder" };
    const again = await grpcCode(client.provision(intruder, call));
    expect(again.code).toBe(GrpcStatus.ALREADY_EXISTS);
    const after = (await api(agent(), "GET", "/v1/var/nomad/jobs/cp-inst_sec2/workload/web")).json;
    expect(after).toEqual(before);

    // The registration itself fails (Nomad answers 500): the variables written just before are removed again.
    agent().faults.set({ failWith500: { pathPrefix: "/v1/jobs", times: 1 } });
    const refused = await grpcCode(client.provision(request("inst_sec3"), call));
    agent().faults.clear();
    expect(refused.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(refused.details).not.toContain(token);
    expect((await api(agent(), "GET", "/v1/job/cp-inst_sec3")).status).toBe(404);
    expect((await api(agent(), "GET", "/v1/vars?prefix=nomad/jobs/cp-inst_sec3/")).json).toEqual([]);
  });

  it("refuses a secret an env file cannot carry without echoing it", async () => {
    const bad = await grpcCode(client.provision(request("inst_sec4", { secrets: [{ key: "k", value: "carriage\rreturn-hidden" }] }), call));
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^services\[0\]\.secrets\[0\]\.value: /);
    expect(bad.details).not.toContain("hidden");
  });

  it("Deprovision deletes the variables, and the plugin's log never carried a value", async () => {
    for (const id of ["inst_sec1", "inst_sec2"]) {
      const res = await client.deprovision({ instanceId: id }, call);
      expect(res.state).toBe(InstanceState.DESTROYED);
      expect(res.message).toMatch(/1 secret variable\(s\) deleted/);
      expect((await api(agent(), "GET", `/v1/var/nomad/jobs/cp-${id}/workload/web`)).status).toBe(404);
    }
    const log = plugin.stderr();
    expect(log).toContain("secret variables written");
    expect(log).not.toContain("s3cr3t-7f1c");
    expect(log).not.toContain(token);
    expect(log).not.toContain("intruder-value");
  });
});
