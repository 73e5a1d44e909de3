// depends_on graphs as large as a request may carry are judged without overflowing the stack: a long valid chain is
// accepted and a long cycle is INVALID_ARGUMENT naming the field, never INTERNAL.
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ProvisionRequestSchema, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { validateProvisionRequest } from "../../src/provider/validation.js";
import { Code, ProviderError } from "../../src/errors.js";

function chain(length: number, closeCycle: boolean) {
  const services = Array.from({ length }, (_, i) => ({
    name: `s${i}`,
    image: "busybox",
    role: i === 0 ? ServiceRole.MAIN : ServiceRole.SIDECAR,
    dependsOn: i + 1 < length ? [`s${i + 1}`] : closeCycle ? ["s0"] : [],
  }));
  return create(ProvisionRequestSchema, { instanceId: "inst_deep", services });
}

function errorOf(fn: () => void): ProviderError {
  try {
    fn();
  } catch (err) {
    return err as ProviderError;
  }
  throw new Error("expected a validation error");
}

describe("depends_on validation of very deep graphs", () => {
  it("accepts a 10,000-service chain", () => {
    expect(() => validateProvisionRequest(chain(10_000, false))).not.toThrow();
  });

  it("rejects a 10,000-service cycle with INVALID_ARGUMENT on depends_on", () => {
    const err = errorOf(() => validateProvisionRequest(chain(10_000, true)));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toMatch(/^services\[\d+\]\.depends_on: dependency cycle: s0 -> s1 -> /);
  });
});
