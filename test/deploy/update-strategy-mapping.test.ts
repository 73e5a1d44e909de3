import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { DeployOptionsSchema, DeployStrategy } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { updateStanza } from "../../src/provider/update-strategy.js";
import { Code, ProviderError } from "../../src/errors.js";

const S = 1e9;
const opts = (init: Parameters<typeof create<typeof DeployOptionsSchema>>[1]) => create(DeployOptionsSchema, init);

function invalid(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe(Code.InvalidArgument);
    return err as ProviderError;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("DeployStrategy + DeployOptions -> the group's update stanza", () => {
  it("rolling with no options uses the documented defaults and judges health by task states when there are no checks", () => {
    expect(updateStanza({ strategy: DeployStrategy.ROLLING, options: undefined, count: 3, hasChecks: false })).toEqual({
      MaxParallel: 1,
      HealthCheck: "task_states",
      MinHealthyTime: 10 * S,
      HealthyDeadline: 300 * S,
      ProgressDeadline: 600 * S,
      AutoRevert: true,
      AutoPromote: false,
      Canary: 0,
    });
  });

  it("an unspecified strategy is rolling, and health is judged by checks when the group has some", () => {
    const u = updateStanza({ strategy: DeployStrategy.UNSPECIFIED, options: undefined, count: 2, hasChecks: true });
    expect(u.Canary).toBe(0);
    expect(u.HealthCheck).toBe("checks");
  });

  it("rolling options map one to one", () => {
    const u = updateStanza({
      strategy: DeployStrategy.ROLLING,
      options: opts({
        maxParallel: 2,
        autoRevert: false,
        minHealthyTime: durationFromMs(250),
        healthyDeadline: durationFromMs(20_000),
        progressDeadline: durationFromMs(60_000),
      }),
      count: 4,
      hasChecks: false,
    });
    expect(u).toMatchObject({ MaxParallel: 2, AutoRevert: false, MinHealthyTime: 0.25 * S, HealthyDeadline: 20 * S, ProgressDeadline: 60 * S });
  });

  it("canary holds canary_count canaries (default 1) for promotion", () => {
    expect(updateStanza({ strategy: DeployStrategy.CANARY, options: undefined, count: 3, hasChecks: false })).toMatchObject({
      Canary: 1,
      AutoPromote: false,
      MaxParallel: 1,
    });
    expect(updateStanza({ strategy: DeployStrategy.CANARY, options: opts({ canaryCount: 2 }), count: 3, hasChecks: false }).Canary).toBe(2);
  });

  it("canary_count is ignored by the other strategies", () => {
    expect(updateStanza({ strategy: DeployStrategy.ROLLING, options: opts({ canaryCount: 2 }), count: 3, hasChecks: false }).Canary).toBe(0);
  });

  it("blue/green starts a full set of canaries and switches over all at once when every one is healthy", () => {
    expect(updateStanza({ strategy: DeployStrategy.BLUE_GREEN, options: undefined, count: 3, hasChecks: false })).toMatchObject({
      Canary: 3,
      MaxParallel: 3,
      AutoPromote: true,
    });
  });

  it("refuses deadlines that cannot work, naming the option", () => {
    const base = { strategy: DeployStrategy.ROLLING, count: 1, hasChecks: false };
    expect(invalid(() => updateStanza({ ...base, options: opts({ healthyDeadline: durationFromMs(1000), minHealthyTime: durationFromMs(1000) }) })).message).toMatch(
      /^options\.min_healthy_time: /,
    );
    expect(invalid(() => updateStanza({ ...base, options: opts({ healthyDeadline: durationFromMs(700_000) }) })).message).toMatch(
      /^options\.progress_deadline: /,
    );
    expect(invalid(() => updateStanza({ ...base, options: opts({ healthyDeadline: durationFromMs(0) }) })).message).toMatch(
      /^options\.healthy_deadline: must be positive/,
    );
    expect(invalid(() => updateStanza({ ...base, options: opts({ maxParallel: -1 }) })).message).toMatch(/^options\.max_parallel: /);
    expect(invalid(() => updateStanza({ ...base, strategy: 9 as DeployStrategy, options: undefined })).message).toMatch(/^strategy: /);
  });
});
