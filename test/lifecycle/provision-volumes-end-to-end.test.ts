// ServiceSpec.volumes end to end on the dev agent: a host volume reaches the task (at its mount path inside the task
// directory and through DEVAGENT_VOLUME_<NAME>) and what the task writes lands in the node's host directory; an
// ephemeral volume is a directory of the allocation bound in at its mount path; the lifecycle family
// declares "volumes" (but not "gpu": no GPU job can run here).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const hostDir = mkdtempSync(join(tmpdir(), "host-volume-"));
const agent = useDevAgent({ hostVolumes: { shared: hostDir } });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

afterAll(async () => {
  rmSync(hostDir, { recursive: true, force: true });
});

const readWhenThere = (path: string) =>
  until(async () => {
    try {
      return { text: readFileSync(path, "utf8") };
    } catch {
      return undefined;
    }
  }, path).then((r) => r.text);

describe("volumes on the dev agent", () => {
  it("declares volumes, and not gpu", async () => {
    const { capabilities } = await provider().client.capabilities({}, call);
    expect(capabilities).toContain("volumes");
    expect(capabilities).not.toContain("gpu");
  });

  it("mounts a host volume: the task writes through its mount path into the host directory", async () => {
    const res = await provider().client.provision(
      {
        instanceId: "inst_vol",
        services: [
          {
            name: "web",
            image: "busybox",
            role: ServiceRole.MAIN,
            volumes: [
              { name: "data", type: "host", source: "shared", mountPath: "/var/lib/app" },
              { name: "scratch", mountPath: "/scratch" },
            ],
            command: [
              "/bin/sh",
              "-c",
              'echo from-web > "$DEVAGENT_VOLUME_WEB_DATA/hello"; echo relative > var/lib/app/rel; echo eph > scratch/note; ' +
                'cat "$NOMAD_ALLOC_DIR/data/web-scratch/note" > var/lib/app/eph; exec sleep 600',
            ],
          },
        ],
      },
      call,
    );
    expect(res.state).toBe(InstanceState.RUNNING);
    expect(await readWhenThere(join(hostDir, "hello"))).toBe("from-web\n");
    expect(await readWhenThere(join(hostDir, "rel"))).toBe("relative\n");
    // The ephemeral volume is a directory of the allocation, bound in at its mount path.
    expect(await readWhenThere(join(hostDir, "eph"))).toBe("eph\n");
    expect((await provider().client.deprovision({ instanceId: "inst_vol" }, call)).state).toBe(InstanceState.DESTROYED);
    // The host volume outlives the allocation, as on Nomad.
    expect(readFileSync(join(hostDir, "hello"), "utf8")).toBe("from-web\n");
  });
});
