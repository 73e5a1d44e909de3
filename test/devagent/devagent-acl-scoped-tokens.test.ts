// Scoped ACL tokens of the dev agent and Nomad's refusals for them: ordinary endpoints answer 403, the log stream and
// the event stream answer 500 with the same text (Nomad 1.6-1.9). Logs accept read-logs or read-fs.

import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ acl: true });
const as = (name: string) => ({ "X-Nomad-Token": agent().tokens![name]! });

async function runningAlloc(): Promise<string> {
  await api(agent(), "PUT", "/v1/jobs", shJob("acl-scoped", "echo hello; exec sleep 600"));
  return until(async () => {
    const allocs = (await api(agent(), "GET", "/v1/job/acl-scoped/allocations")).json as { ID: string; ClientStatus: string }[];
    return allocs.find((a) => a.ClientStatus === "running")?.ID;
  }, "a running allocation");
}

describe("dev agent: scoped tokens", () => {
  it("grants and refuses per capability, with Nomad's status per endpoint kind", async () => {
    const allocId = await runningAlloc();
    const logs = `/v1/client/fs/logs/${allocId}?task=main&type=stdout&plain=true`;
    const stream = "/v1/event/stream?topic=Job%3A*&topic=Allocation%3A*&topic=Deployment%3A*";

    // read: jobs yes, logs no (500 from the stream), event stream yes.
    expect((await api(agent(), "GET", "/v1/job/acl-scoped", undefined, as("read"))).status).toBe(200);
    const readLogs = await api(agent(), "GET", logs, undefined, as("read"));
    expect([readLogs.status, readLogs.text]).toEqual([500, "Permission denied"]);
    const ok = await fetch(agent().address + stream, { headers: as("read") });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const write = await api(agent(), "PUT", "/v1/jobs", shJob("nope", "true"), as("read"));
    expect([write.status, write.text]).toEqual([403, "Permission denied"]);

    // read-logs: the log stream too.
    const logsOk = await until(async () => {
      const r = await api(agent(), "GET", logs, undefined, as("read-logs"));
      return r.status === 200 && r.text.includes("hello") && r;
    }, "logs readable");
    expect(logsOk.text).toBe("hello\n");

    // no-read-job: job reads 403, the event stream 500, logs fine.
    const job = await api(agent(), "GET", "/v1/job/acl-scoped", undefined, as("no-read-job"));
    expect([job.status, job.text]).toEqual([403, "Permission denied"]);
    const refused = await api(agent(), "GET", stream, undefined, as("no-read-job"));
    expect([refused.status, refused.text]).toEqual([500, "Permission denied"]);
    expect((await api(agent(), "GET", logs, undefined, as("no-read-job"))).status).toBe(200);

    // An unknown token on a stream: 500 "ACL token not found".
    const unknown = await api(agent(), "GET", logs, undefined, { "X-Nomad-Token": "00000000-0000-0000-0000-000000000000" });
    expect([unknown.status, unknown.text]).toEqual([500, "ACL token not found"]);
  });
});
