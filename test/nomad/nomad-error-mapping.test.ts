import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { Code } from "../../src/errors.js";
import { errorFromNetwork, errorFromStatus } from "../../src/nomad/nomad-error.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");

describe("Nomad HTTP answers become one error type with a gRPC-mappable code", () => {
  it("maps the recorded 404 and 403 bodies", () => {
    const notFound = errorFromStatus(404, fixture("GET_v1_job_ID.404.txt"), "read job cp-x");
    expect(notFound.code).toBe(Code.NotFound);
    expect(notFound.message).toBe("nomad: read job cp-x: job not found");
    const denied = errorFromStatus(403, fixture("GET_v1_nodes.403.txt"), "list nodes");
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.message).toContain("Permission denied");
  });

  it("maps validation, conflicts and server failures", () => {
    expect(errorFromStatus(400, "1 error occurred: group count must be >= 0", "register").code).toBe(Code.InvalidArgument);
    expect(errorFromStatus(409, "conflict", "register").code).toBe(Code.AlreadyExists);
    expect(errorFromStatus(500, "rpc error: No cluster leader", "read").code).toBe(Code.Unavailable);
  });

  it("maps Nomad's validation refusals (500 with the go-multierror text, 1.0 and 1.1 forms) to INVALID_ARGUMENT with Nomad's text", () => {
    const v11 = "1 error occurred:\n\t* Task group workload validation failed: 1 error occurred:\n\t* MemoryMaxMB value (256) should be larger than MemoryMB value (512\n\n";
    const e = errorFromStatus(500, v11, "register job cp-x");
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.message).toContain("MemoryMaxMB value (256) should be larger than MemoryMB value (512");
    expect(errorFromStatus(500, "2 errors occurred:\n\t* a\n\t* b\n\n", "register").code).toBe(Code.InvalidArgument);
    expect(errorFromStatus(500, "1 error(s) occurred:\n\n* Missing job datacenters", "register").code).toBe(Code.InvalidArgument);
    // Other 500s stay outages, even when they mention errors.
    expect(errorFromStatus(500, "rpc error: 1 error occurred while forwarding", "read").code).toBe(Code.Unavailable);
  });

  it("maps Nomad's permission refusals that streams answer as 500 to PERMISSION_DENIED", () => {
    for (const body of ["Permission denied", "ACL token not found", "rpc error: Permission denied"]) {
      expect([body, errorFromStatus(500, body, "stream logs").code]).toEqual([body, Code.PermissionDenied]);
    }
    expect(errorFromStatus(500, "Permission denied to write file foo: disk full", "x").code).toBe(Code.Unavailable);
  });

  it("maps socket failures and aborts", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(errorFromNetwork(refused, "health").code).toBe(Code.Unavailable);
    // Node's own text, once: not "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:1".
    expect(errorFromNetwork(refused, "health").message).toBe("nomad: health: connect ECONNREFUSED 127.0.0.1:1");
    const closed = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    expect(errorFromNetwork(closed, "health").message).toBe("nomad: health: other side closed (UND_ERR_SOCKET)");
    const ac = new AbortController();
    ac.abort(new DOMException("deadline", "TimeoutError"));
    expect(errorFromNetwork(new Error("aborted"), "health", ac.signal).code).toBe(Code.DeadlineExceeded);
    const cancel = new AbortController();
    cancel.abort();
    expect(errorFromNetwork(new Error("aborted"), "health", cancel.signal).code).toBe(Code.Canceled);
  });
});
