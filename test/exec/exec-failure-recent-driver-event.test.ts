// explainExecFailure: a session Nomad closed without a reason is explained with the task's most recent driver failure
// event (within five minutes), read from the allocation; an older one, or any other error, is left out / untouched.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ProviderError } from "../../src/errors.js";
import { createLogger } from "../../src/log.js";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { errorFromClose } from "../../src/nomad/exec-session.js";
import { explainExecFailure } from "../../src/provider/exec-failure.js";

let server: Server;
let nomad: NomadHttp;
let events: unknown[] = [];
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ID: "a1", TaskStates: { web: { State: "running", Events: events } } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
afterAll(async () => {
  await nomad.close();
  await new Promise((r) => server.close(r));
});

const deps = () => ({ nomad, settings: { datacenters: [], cpuMhzPerCore: 1000, version: "t" }, log: createLogger({ level: "error" }) });
const target = { allocId: "a1", task: "web" };
const ns = (msAgo: number) => (Date.now() - msAgo) * 1e6;

describe("explainExecFailure", () => {
  it("adds the task's recent driver failure", async () => {
    events = [
      { Type: "Driver Failure", Time: ns(3_600_000), DriverError: "old failure" },
      { Type: "Started", Time: ns(60_000) },
      { Type: "Driver Failure", Time: ns(10_000), DriverError: "OCI runtime exec failed: exec failed: unable to start container process" },
    ];
    const e = (await explainExecFailure(deps(), errorFromClose(1006, ""), target, ["sh"], new AbortController().signal)) as ProviderError;
    expect(e.code).toBe(Code.Unavailable);
    expect(e.message).toContain("the task's most recent driver failure: OCI runtime exec failed");
  });

  it("leaves out stale events and leaves errors with a reason as they are", async () => {
    events = [{ Type: "Driver Failure", Time: ns(3_600_000), DriverError: "old failure" }];
    const e = (await explainExecFailure(deps(), errorFromClose(1006, ""), target, ["sh"], new AbortController().signal)) as ProviderError;
    expect(e.message).not.toContain("old failure");
    const withReason = errorFromClose(1011, "task not found");
    expect(await explainExecFailure(deps(), withReason, target, ["sh"], new AbortController().signal)).toBe(withReason);
  });
});
