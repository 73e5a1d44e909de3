// 10,000 open/cancel cycles of WatchStatus — half cancelled after the first status, half while the handler is still
// setting up — leave no sockets, timers or listeners behind: the census of test/helpers/leak-cycles.ts comes back to its
// baseline plus a small constant, not in proportion to the streams opened.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InstanceState, ServiceRole } from "../gen/ctrlplane/provider/v1/provider_pb.js";
import { families } from "../src/provider/families.js";
import { useDevAgent } from "./helpers/dev-agent.js";
import { startInProcessProvider, type InProcessProvider } from "./helpers/in-process-provider.js";
import { cycles, expectNoLeak } from "./helpers/leak-cycles.js";

const agent = useDevAgent();
let provider: InProcessProvider;
const id = "inst_leaks";

beforeAll(async () => {
  provider = await startInProcessProvider({ nomadAddress: agent().address, families });
  const res = await provider.client.provision(
    { instanceId: id, services: [{ name: "main", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "echo hello; exec sleep 3600"] }] },
    { deadlineMs: 20_000 },
  );
  expect(res.state).toBe(InstanceState.RUNNING);
});
afterAll(async () => {
  await provider?.close();
});

describe(`${cycles} open/cancel cycles`, () => {
  // 10,000 real streams against a real agent take a while on a two-core machine.
  it("of WatchStatus leave no sockets, timers or listeners behind", { timeout: 240_000 }, async () => {
    await expectNoLeak(provider, agent(), (client, signal) => client.watchStatus({ instanceId: id }, { signal }));
  });
});
