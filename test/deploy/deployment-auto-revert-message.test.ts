import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { autoRevertNotice, deploymentMessage, rollbackVersion } from "../../src/provider/release-status.js";
import { canariesReady, awaitingPromotion } from "../../src/provider/deployment-follow.js";
import type { Deployment, Job } from "../../src/nomad/types.js";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8"));
const latest: Deployment = fixture("GET_v1_job_ID_deployment.response.json");
const read: Deployment = fixture("GET_v1_deployment_ID.response.json");
const stored: Job = fixture("GET_v1_job_ID_versions.response.json").Versions[0];
const version = (v: number, release: string): Job => ({ ...structuredClone(stored), Version: v, Meta: { "ctrlplane.release": release } });

const failed: Deployment = {
  ...latest,
  ID: "aaaaaaaa-0000-0000-0000-000000000001",
  JobVersion: 2,
  Status: "failed",
  StatusDescription: "Failed due to unhealthy allocations - rolling back to job version 1",
  CreateIndex: 30,
};
const revertDeployment: Deployment = { ...latest, ID: "bbbbbbbb-0000", JobVersion: 3, Status: "successful", StatusDescription: "Deployment completed successfully", CreateIndex: 40 };
const versions = [version(3, "rel-1"), version(2, "rel-2"), version(1, "rel-1")];

describe("deployment outcome messages", () => {
  it("reads the rollback target out of Nomad's description", () => {
    expect(rollbackVersion(failed)).toBe(1);
    expect(rollbackVersion(latest)).toBeUndefined();
  });

  it("says a failed deployment was reverted and to which release", () => {
    expect(deploymentMessage(failed, versions)).toBe(
      "deployment aaaaaaaa of job version 2 (release rel-2) failed: Failed due to unhealthy allocations; " +
        "Nomad reverted the instance to job version 1 (release rel-1)",
    );
  });

  it("describes a running deployment from the fixture by its status", () => {
    expect(deploymentMessage(latest, [])).toBe("deployment 85ee4a9a of job version 1 running: Deployment is running");
  });

  it("Status notice: shown while the instance runs the reverted release, gone once another release deploys", () => {
    const job = version(3, "rel-1");
    expect(autoRevertNotice(job, [revertDeployment, failed], versions)).toContain("Nomad reverted the instance to job version 1 (release rel-1)");
    const next = version(4, "rel-3");
    const nextDeployment: Deployment = { ...revertDeployment, ID: "cccc", JobVersion: 4, CreateIndex: 50 };
    expect(autoRevertNotice(next, [nextDeployment, revertDeployment, failed], [next, ...versions])).toBeUndefined();
    expect(autoRevertNotice(version(2, "rel-2"), [failed], versions)).toBeUndefined();
  });
});

describe("canary promotion readiness from deployment state", () => {
  it("is ready only when every unpromoted canary group has all its canaries healthy", () => {
    expect(canariesReady(latest)).toBe(true); // 2/2 healthy canaries, not promoted
    expect(canariesReady(read)).toBe(false); // 0/1 healthy
    expect(awaitingPromotion(read)).toBe(true);
    const promoted = { ...latest, TaskGroups: { cache: { ...latest.TaskGroups!.cache!, Promoted: true } } };
    expect(canariesReady(promoted)).toBe(false);
    expect(awaitingPromotion(promoted)).toBe(false);
  });
});
