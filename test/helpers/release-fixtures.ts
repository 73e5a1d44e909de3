// Shared by the release end-to-end tests: a one-service instance whose task is a real local process on the dev
// agent (docker driver with a /bin/sh command: the image name is only recorded, so releases can swap it freely),
// quick deployment options, and a view of which image/env each live allocation really runs.

import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ServiceRole, type DeployOptionsSchema, type ProvisionRequestSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { DevAgent } from "../../src/devagent/index.js";
import { api } from "./dev-agent.js";

export function sleeperInstance(
  instanceId: string,
  options: { replicas?: number; image?: string; env?: Record<string, string>; port?: boolean } = {},
): MessageInitShape<typeof ProvisionRequestSchema> {
  return {
    instanceId,
    tenantId: "ten_releases",
    services: [
      {
        name: "web",
        image: options.image ?? "busybox:1",
        role: ServiceRole.MAIN,
        resources: { replicas: options.replicas ?? 2 },
        env: options.env ?? { A: "1" },
        ...(options.port ? { ports: [{ container: 8080 }] } : {}),
        command: ["/bin/sh", "-c", "exec sleep 600"],
      },
    ],
  };
}

/** Deployment options that make a healthy rollout take a fraction of a second. */
export function quick(extra: MessageInitShape<typeof DeployOptionsSchema> = {}): MessageInitShape<typeof DeployOptionsSchema> {
  return {
    minHealthyTime: durationFromMs(100),
    healthyDeadline: durationFromMs(5_000),
    progressDeadline: durationFromMs(10_000),
    ...extra,
  };
}

export interface LiveAlloc {
  id: string;
  jobVersion: number;
  image: string;
  env: Record<string, string>;
  canary: boolean;
}

/** The allocations Nomad wants running and that run, with the image and env of the job version each one runs. */
export async function liveAllocations(agent: DevAgent, jobId: string): Promise<LiveAlloc[]> {
  const stubs = (await api(agent, "GET", `/v1/job/${jobId}/allocations`)).json as { ID: string; ClientStatus: string; DesiredStatus: string }[];
  const live = stubs.filter((a) => a.ClientStatus === "running" && a.DesiredStatus === "run");
  const full = await Promise.all(live.map(async (a) => (await api(agent, "GET", `/v1/allocation/${a.ID}`)).json));
  return full
    .map((a) => ({
      id: a.ID as string,
      jobVersion: a.Job.Version as number,
      image: a.Job.TaskGroups[0].Tasks[0].Config.image as string,
      env: (a.Job.TaskGroups[0].Tasks[0].Env ?? {}) as Record<string, string>,
      canary: a.DeploymentStatus?.Canary === true,
    }))
    .sort((x, y) => x.id.localeCompare(y.id));
}

/** True when exactly `count` allocations are live and all run `image`. */
export async function allOn(agent: DevAgent, jobId: string, image: string, count: number): Promise<LiveAlloc[] | false> {
  const live = await liveAllocations(agent, jobId);
  return live.length === count && live.every((a) => a.image === image) ? live : false;
}
