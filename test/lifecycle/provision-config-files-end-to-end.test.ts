// ServiceSpec.config_files end to end on the dev agent: each file appears at its path (relative to the task
// directory; absolute paths too, under it) with exactly its content, even content full of template delimiters,
// and an "env" file is also exported into the task's environment; a malformed env file is refused up front.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";

const dataDir = mkdtempSync(join(tmpdir(), "config-files-"));
const agent = useDevAgent({ dataDir });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
});

const json = '{"servers": [{"host": "a", "port": 1}], "tmpl": "{{ .Not }} [[ nor this ]]"}\n';
const text = "line one\n{{ env \"HOME\" }} stays literal\n";
const env = "# app settings\nGREETING=hello world\nexport QUOTED=\"a \\\"b\\\"\"\n\n";

describe("config files on the dev agent", () => {
  it("renders every file at its path with its content and exports the env file", async () => {
    const res = await provider().client.provision(
      {
        instanceId: "inst_cfg",
        services: [
          {
            name: "web",
            image: "busybox",
            role: ServiceRole.MAIN,
            configFiles: [
              { name: "json", path: "/etc/app/config.json", format: "json", content: json },
              { name: "text", path: "local/notes.txt", format: "text", content: text },
              { name: "env", path: "/etc/app/app.env", format: "env", content: env },
            ],
            command: ["/bin/sh", "-c", 'printf "%s|%s" "$GREETING" "$QUOTED" > "$NOMAD_ALLOC_DIR/env"; exec sleep 600'],
          },
        ],
      },
      call,
    );
    expect(res.state).toBe(InstanceState.RUNNING);
    const taskDir = await until(async () => {
      const [alloc] = (await api(agent(), "GET", "/v1/job/cp-inst_cfg/allocations")).json as { ID: string }[];
      return alloc && join(dataDir, "alloc", alloc.ID);
    }, "allocation");
    const read = (...p: string[]) => readFileSync(join(taskDir, ...p), "utf8");
    expect(read("web", "etc", "app", "config.json")).toBe(json);
    expect(read("web", "local", "notes.txt")).toBe(text);
    expect(read("web", "etc", "app", "app.env")).toBe('GREETING=hello world\nexport QUOTED="a \\"b\\""\n');
    expect(await until(async () => {
      try {
        return read("alloc", "env");
      } catch {
        return undefined;
      }
    }, "env written by the task")).toBe('hello world|a "b"');
  });

  it("refuses an env file Nomad could not parse, naming the line", async () => {
    const err = await grpcCode(
      provider().client.provision(
        { instanceId: "inst_cfg_bad", services: [{ name: "web", image: "busybox", configFiles: [{ name: "e", path: "a.env", format: "env", content: "A=1\nnot an assignment\n" }] }] },
        call,
      ),
    );
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toBe("services[0].config_files[0].content: line 2 is not KEY=value");
    expect((await api(agent(), "GET", "/v1/job/cp-inst_cfg_bad")).status).toBe(404);
  });
});
