import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { versionOfRelease, releaseAgedOut } from "../../src/provider/rollback.js";
import type { Job } from "../../src/nomad/types.js";
import { Code } from "../../src/errors.js";

const stored: Job = JSON.parse(
  readFileSync(new URL("../fixtures/nomad/GET_v1_job_ID_versions.response.json", import.meta.url), "utf8"),
).Versions[0];

/** The retained history of a job whose versions 3..8 carry releases (newest first, as Nomad lists them). */
const history: Job[] = [8, 7, 6, 5, 4, 3].map((v) => ({
  ...structuredClone(stored),
  Version: v,
  Meta: { ...(v === 3 ? {} : { "ctrlplane.release": v === 7 || v === 5 ? "rel-a" : `rel-${v}` }), team: "x" },
}));

describe("finding the job version of a release", () => {
  it("picks the newest retained version whose Meta carries the release", () => {
    expect(versionOfRelease(history, "rel-a")?.Version).toBe(7);
    expect(versionOfRelease(history, "rel-4")?.Version).toBe(4);
  });

  it("finds nothing for a release no retained version carries, nor in a sample without release Meta", () => {
    expect(versionOfRelease(history, "rel-1")).toBeUndefined();
    expect(versionOfRelease([stored], "rel-a")).toBeUndefined();
  });

  it("explains NOT_FOUND with Nomad's limited version history", () => {
    const err = releaseAgedOut("cp-x", "rel-1", history);
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toMatch(/^release_id: no retained version of job cp-x carries release rel-1/);
    expect(err.message).toContain("versions 3-8");
    expect(err.message).toContain("releases rel-8, rel-a, rel-6, rel-4");
    expect(err.message).toMatch(/job_max_versions .*JobTrackedVersions, 6 by default.*aged out/);
  });
});
