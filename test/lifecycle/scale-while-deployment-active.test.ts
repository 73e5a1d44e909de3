// Scale of replicas while a deployment of the instance is active. Nomad refuses the count change for every active
// status; a paused deployment is FAILED_PRECONDITION at once naming it (one scale request, no loop), and a running one
// is waited for with a blocking query on the deployment, never by re-posting the scale in a loop.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const requests = async () => (await api(agent(), "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>;

/** Job cp-<id> with version 1 rolling out under a deployment (each new allocation healthy after `minHealthyS`). */
async function rollingOut(id: string, minHealthyS: number) {
  const job = (script: string, healthyAfterS: number) => {
    const j = shJob(`cp-${id}`, script, { update: { MaxParallel: 1, MinHealthyTime: healthyAfterS * 1e9, HealthyDeadline: 60e9 } });
    (j.Job.TaskGroups[0] as any).Tasks[0].Meta = { "ctrlplane.role": "main" };
    return j;
  };
  await api(agent(), "PUT", "/v1/jobs", job("exec sleep 600", 0.1));
  await until(async () => (await api(agent(), "GET", `/v1/job/cp-${id}/deployment`)).json?.Status === "successful", "version 0 deployed");
  await api(agent(), "PUT", "/v1/jobs", job("echo v1; exec sleep 600", minHealthyS));
  return until(async () => {
    const d = (await api(agent(), "GET", `/v1/job/cp-${id}/deployment`)).json;
    return d?.JobVersion === 1 && d.Status === "running" ? d : undefined;
  }, "version 1 deploying");
}

describe("Scale during a deployment", () => {
  it("answers FAILED_PRECONDITION at once, naming a paused deployment", async () => {
    const id = "inst_scale_paused";
    const d = await rollingOut(id, 30);
    await api(agent(), "POST", `/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    const err = await grpcCode(provider().client.scale({ instanceId: id, resources: { replicas: 2 } }, { deadlineMs: 20_000 }));
    expect(err.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(err.details).toContain(d.ID);
    expect(err.details).toContain("paused");
    expect((await requests())[`POST /v1/job/cp-${id}/scale`]).toBe(1);
  });

  it("waits for a running deployment on a blocking query, then scales", async () => {
    const id = "inst_scale_running";
    const d = await rollingOut(id, 2);
    const res = await provider().client.scale({ instanceId: id, resources: { replicas: 2 } }, { deadlineMs: 30_000 });
    expect(res.replicas).toBe(2);
    expect((await api(agent(), "GET", `/v1/deployment/${d.ID}`)).json.Status).toBe("successful");
    const seen = await requests();
    // One refusal and the accepted scale; the wait is a handful of blocking reads, not a spin.
    expect(seen[`POST /v1/job/cp-${id}/scale`]).toBe(2);
    expect(seen[`GET /v1/deployment/${d.ID}`] ?? 0).toBeLessThanOrEqual(10);
    expect(seen[`GET /v1/job/cp-${id}`] ?? 0).toBeLessThanOrEqual(3);
  });
});
