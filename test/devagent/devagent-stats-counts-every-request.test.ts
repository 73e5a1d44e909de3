// The dev agent's request counters (GET /v1/devagent/stats) add up to every request it served, also past the cap on
// distinct paths: benchmarks at 2,000 instances touch more than 10,000 paths and read "0 requests" from these sums.

import { describe, expect, it } from "vitest";
import { RequestCounter, otherPathsKey } from "../../src/devagent/routes/stats-routes.js";

describe("dev agent request counters", () => {
  it("count requests of paths beyond the cap together instead of dropping them", () => {
    const counter = new RequestCounter(3);
    for (let i = 0; i < 5; i++) counter.count("GET", `/v1/job/cp-${i}`);
    counter.count("GET", "/v1/job/cp-0");
    counter.count("GET", "/v1/job/cp-4");
    const counts = counter.toJSON();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(7);
    expect(counts["GET /v1/job/cp-0"]).toBe(2);
    expect(counts[otherPathsKey]).toBe(3);
    expect(Object.keys(counts)).toHaveLength(4);
  });
});
