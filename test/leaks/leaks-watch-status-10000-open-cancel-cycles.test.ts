// 10,000 open/cancel cycles of WatchStatus — half cancelled after the first status, half while the handler is still
// setting up — leave no sockets, timers or listeners behind: the census of test/helpers/leak-cycles.ts comes back to its
// baseline plus a small constant, not in proportion to the streams opened.

import { describe, it } from "vitest";
import { cycles, expectNoLeak, useRunningInstance } from "../helpers/leak-cycles.js";

const id = "inst_leaks";
const { agent, provider } = useRunningInstance(id);

describe(`${cycles} open/cancel cycles`, () => {
  // 10,000 real streams against a real agent take a while on a two-core machine.
  it("of WatchStatus leave no sockets, timers or listeners behind", { timeout: 240_000 }, async () => {
    await expectNoLeak(provider(), agent(), (client, signal) => client.watchStatus({ instanceId: id }, { signal }));
  });
});
