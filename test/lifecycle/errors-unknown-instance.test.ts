// An instance that does not exist is NOT_FOUND in the caller's terms, on every RPC that reads it: the instance id,
// then the Nomad job and namespace it was looked up as; never Nomad's "job not found" alone.

import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { families } from "../../src/provider/families.js";
import { useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent({ namespaces: ["team-a"] });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families, namespace: "team-a" }));

const expected = { code: status.NOT_FOUND, details: "instance nope not found (Nomad job cp-nope in namespace team-a)" };

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) break;
}

describe("unknown instance", () => {
  it("Status, Stop, Start, Scale and Rollback say which instance and which Nomad job", async () => {
    const c = provider().client;
    await expect(c.status({ instanceId: "nope" })).rejects.toMatchObject(expected);
    await expect(c.stop({ instanceId: "nope" })).rejects.toMatchObject(expected);
    await expect(c.start({ instanceId: "nope" })).rejects.toMatchObject(expected);
    await expect(c.scale({ instanceId: "nope", resources: { replicas: 2 } })).rejects.toMatchObject(expected);
    await expect(c.rollback({ instanceId: "nope", releaseId: "rel_1" })).rejects.toMatchObject(expected);
  });

  it("a stream (Logs) says the same", async () => {
    await expect(drain(provider().client.logs({ instanceId: "nope" }))).rejects.toMatchObject(expected);
  });
});
