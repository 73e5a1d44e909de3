import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { DeployRequestSchema, DeployStrategy } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { patchJobForRelease } from "../../src/provider/release-patch.js";
import type { Job } from "../../src/nomad/types.js";
import { Code, ProviderError } from "../../src/errors.js";

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8"));
/** GET /v1/job/:id sample: group "cache" with an init task and "redis" (env foo/baz, a tcp check), job Meta foo/baz. */
const job: Job = fixture("GET_v1_job_ID.response.json");
/** A real stored version: group Networks with port "db" -> 6379, redis Config.ports ["db"]. */
const versioned: Job = fixture("GET_v1_job_ID_versions.response.json").Versions[0];

const request = (init: Parameters<typeof create<typeof DeployRequestSchema>>[1]) =>
  create(DeployRequestSchema, { instanceId: "x", releaseId: "rel-2", strategy: DeployStrategy.ROLLING, ...init });

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe(Code.InvalidArgument);
    return (err as ProviderError).message;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("a release patches only the named services of the job Nomad holds", () => {
  const { job: patched, changed } = patchJobForRelease(job, request({ services: [{ name: "redis", image: "redis:7.2", env: { foo: "new", added: "1" } }] }));
  const tasks = (j: Job) => j.TaskGroups[0]!.Tasks;

  it("sets the new image and merges env (request keys win, others are kept)", () => {
    const redis = tasks(patched).find((t) => t.Name === "redis")!;
    expect(redis.Config).toEqual({ ...tasks(job)[1]!.Config, image: "redis:7.2" });
    expect(redis.Env).toEqual({ foo: "new", baz: "pipe", added: "1" });
    expect(changed).toBe(true);
  });

  it("leaves every other task and field exactly as read", () => {
    expect(tasks(patched).find((t) => t.Name === "init")).toEqual(tasks(job).find((t) => t.Name === "init"));
    const strip = (j: Job) => ({ ...j, Meta: null, TaskGroups: j.TaskGroups.map((g) => ({ ...g, Update: null, Tasks: g.Tasks.filter((t) => t.Name !== "redis") })) });
    expect(strip(patched)).toEqual(strip(job));
    const redisRest = (j: Job) => {
      const { Config: _c, Env: _e, ...rest } = tasks(j).find((t) => t.Name === "redis")!;
      return rest;
    };
    expect(redisRest(patched)).toEqual(redisRest(job));
    expect(tasks(job).find((t) => t.Name === "redis")!.Config.image).toBe("redis:latest");
  });

  it("records the release in job Meta next to the existing keys", () => {
    expect(patched.Meta).toEqual({ foo: "bar", baz: "pipe", "ctrlplane.release": "rel-2" });
  });

  it("writes the strategy into the group's update stanza, judged by checks because redis has one", () => {
    expect(patched.TaskGroups[0]!.Update).toMatchObject({ HealthCheck: "checks", Canary: 0, MaxParallel: 1 });
  });

  it("reports unchanged when the same release with the same image and env is deployed again", () => {
    const again = patchJobForRelease(patched, request({ services: [{ name: "redis", image: "redis:7.2", env: { foo: "new" } }] }));
    expect(again.changed).toBe(false);
    const otherRelease = patchJobForRelease(patched, request({ releaseId: "rel-3", services: [{ name: "redis", image: "redis:7.2" }] }));
    expect(otherRelease.changed).toBe(true);
  });

  it("replaces the service's health check with one on its declared port", () => {
    const { job: withCheck } = patchJobForRelease(
      versioned,
      request({ services: [{ name: "redis", image: "redis:7", healthCheck: { path: "", port: 6379, interval: durationFromMs(1000) } }] }),
    );
    const group = withCheck.TaskGroups[0]!;
    const svc = group.Services!.find((s) => s.Name === "redis")!;
    expect(svc).toMatchObject({ PortLabel: "db", TaskName: "redis", Provider: "nomad" });
    expect(svc.Checks).toEqual([expect.objectContaining({ Type: "tcp", PortLabel: "db", Interval: 1e9 })]);
    expect(group.Update!.HealthCheck).toBe("checks");
  });
});

describe("a release that cannot apply is INVALID_ARGUMENT with the field path, before anything is registered", () => {
  it("names an unknown service", () => {
    const msg = invalid(() =>
      patchJobForRelease(job, request({ services: [{ name: "redis", image: "a" }, { name: "nope", image: "b" }] })),
    );
    expect(msg).toMatch(/^services\[1\]\.name: no service "nope" in instance \(services: init, redis\)/);
  });

  it("refuses a missing image, a bad env name, a missing release id and an empty release", () => {
    expect(invalid(() => patchJobForRelease(job, request({ services: [{ name: "redis", image: " " }] })))).toMatch(/^services\[0\]\.image: /);
    expect(invalid(() => patchJobForRelease(job, request({ services: [{ name: "redis", image: "a", env: { "1X": "v" } }] })))).toMatch(
      /^services\[0\]\.env\[1X\]: /,
    );
    expect(invalid(() => patchJobForRelease(job, request({ releaseId: "", services: [{ name: "redis", image: "a" }] })))).toMatch(/^release_id: /);
    expect(invalid(() => patchJobForRelease(job, request({ services: [] })))).toMatch(/^services: /);
  });

  it("refuses a health check on a port the service does not declare", () => {
    expect(invalid(() => patchJobForRelease(versioned, request({ services: [{ name: "redis", image: "a", healthCheck: { port: 80 } }] })))).toMatch(
      /^services\[0\]\.health_check\.port: 80 is not one of the service's container ports \(6379\)/,
    );
    expect(invalid(() => patchJobForRelease(job, request({ services: [{ name: "redis", image: "a", healthCheck: {} }] })))).toMatch(
      /^services\[0\]\.health_check: service "redis" declares no port/,
    );
  });
});
