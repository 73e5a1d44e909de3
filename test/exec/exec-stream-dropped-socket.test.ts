// An ExecStream whose WebSocket to Nomad drops (here: the agent goes away) ends with UNAVAILABLE, not a fake exit.
import { afterAll, describe, expect, it } from "vitest";
import { startDevAgent } from "../../src/devagent/index.js";
import { execFamily, logsFamily } from "../../src/provider/observe-family.js";
import type { ExecStreamResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { startInProcessProvider, type InProcessProvider } from "../helpers/in-process-provider.js";
import { newInstanceId, runInstance } from "../helpers/observe-stack.js";

let provider: InProcessProvider | undefined;
afterAll(async () => {
  await provider?.close();
});

describe("ExecStream when the connection to Nomad drops", () => {
  it("fails with UNAVAILABLE", async () => {
    const agent = await startDevAgent({ port: 0 });
    try {
      provider = await startInProcessProvider({ nomadAddress: agent.address, families: [logsFamily, execFamily] });
      const instance = newInstanceId("drop");
      await runInstance(agent, instance, { script: "exec sleep 3600" });
      const call = provider.client.execStream();
      call.send({ request: { case: "start", value: { instanceId: instance, command: ["cat"] } } });
      const it = call.responses[Symbol.asyncIterator]();
      expect(((await it.next()).value as ExecStreamResponse).response.case).toBe("started");
      await agent.close();
      const rest = (async () => {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          if ((r.value as ExecStreamResponse).response.case === "exited") throw new Error("a dropped session must not look like an exit");
        }
      })();
      await expect(rest).rejects.toMatchObject({ code: 14 });
    } finally {
      await agent.close();
    }
  });
});
