// The dev agent serves the node and allocation-file endpoints a Nomad client expects, in Nomad's shapes: /v1/nodes
// (NodeListStub), /v1/node/:id (Node), /v1/node/:id/allocations (full Allocations, as the recorded capture), and
// /v1/client/fs/ls|stat|cat|readat with the client's error texts and codes; routes Nomad knows but the agent does not
// serve answer 404 instead of being taken for a job or node named "x/plan".
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { api, shJob, until, useDevAgent, withDevAgent } from "../helpers/dev-agent.js";
import { shapeDiff } from "../helpers/json-shape.js";

const fixtureJson = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8"));

// Field lists of Nomad's structs (nomad/structs/structs.go Node, NodeListStub; client/structs AllocFileInfo) as the
// API serves them at the emulated version (openapi.yaml schemas Node, NodeListStub).
const nodeFields = [
  "Attributes", "CSIControllerPlugins", "CSINodePlugins", "CgroupParent", "CreateIndex", "Datacenter", "Drain", "DrainStrategy",
  "Drivers", "Events", "HTTPAddr", "HostNetworks", "HostVolumes", "ID", "LastDrain", "Links", "Meta", "ModifyIndex", "Name",
  "NodeClass", "NodeResources", "Reserved", "ReservedResources", "Resources", "SchedulingEligibility", "Status",
  "StatusDescription", "StatusUpdatedAt", "TLSEnabled",
];
const stubFields = [
  "Address", "Attributes", "CreateIndex", "Datacenter", "Drain", "Drivers", "ID", "LastDrain", "ModifyIndex", "Name", "NodeClass",
  "SchedulingEligibility", "Status", "StatusDescription", "Version",
];

describe("dev agent node and fs endpoints", () => {
  const agent = useDevAgent();
  let allocId = "";
  let nodeId = "";

  it("lists its node as a NodeListStub and serves the full Node", async () => {
    const list = await api(agent(), "GET", "/v1/nodes");
    expect(list.status).toBe(200);
    expect(list.headers.get("x-nomad-index")).not.toBeNull();
    expect(list.json).toHaveLength(1);
    for (const f of stubFields) expect(list.json[0], f).toHaveProperty(f);
    expect(list.json[0].NodeResources).toBeUndefined(); // omitempty unless ?resources=true
    const withResources = await api(agent(), "GET", "/v1/nodes?resources=true");
    expect(withResources.json[0].NodeResources.Memory.MemoryMB).toBeGreaterThan(0);
    nodeId = list.json[0].ID;
    const node = await api(agent(), "GET", `/v1/node/${nodeId}`);
    expect(node.status).toBe(200);
    for (const f of nodeFields) expect(node.json, f).toHaveProperty(f);
    expect(node.json).toMatchObject({ ID: nodeId, Status: "ready", SchedulingEligibility: "eligible", SecretID: "" });
    expect(node.json.NodeResources.Cpu.CpuShares).toBeGreaterThan(0);
    const missing = await api(agent(), "GET", "/v1/node/00000000-0000-0000-0000-000000000000");
    expect([missing.status, missing.text]).toEqual([404, "node not found"]);
  });

  it("serves the node's allocations as full Allocation objects like the recorded capture", async () => {
    expect((await api(agent(), "POST", "/v1/jobs", shJob("files", "echo hello-files; exec sleep 60"))).status).toBe(200);
    const allocs = await until(async () => {
      const r = await api(agent(), "GET", `/v1/node/${nodeId}/allocations`);
      return r.json.length && r.json[0].ClientStatus === "running" ? r : undefined;
    }, "a running allocation on the node");
    const capture = fixtureJson("GET_v1_node_ID_allocations.capture.json")[0];
    capture.Job = null; // the job shape is compared in devagent-conformance.test.ts
    expect(shapeDiff(capture, allocs.json[0])).toEqual([]);
    expect(allocs.json[0].Job.ID).toBe("files");
    expect(allocs.json[0].NodeID).toBe(nodeId);
    allocId = allocs.json[0].ID;
    expect((await api(agent(), "GET", "/v1/node/00000000-0000-0000-0000-000000000000/allocations")).json).toEqual([]);
  });

  it("lists and stats the allocation directory with AllocFileInfo", async () => {
    const root = await api(agent(), "GET", `/v1/client/fs/ls/${allocId}`);
    expect(root.status).toBe(200);
    const alloc = root.json.find((f: any) => f.Name === "alloc");
    expect(alloc).toMatchObject({ IsDir: true, FileMode: expect.stringMatching(/^d[rwx-]{9}$/) });
    expect(Object.keys(alloc).sort()).toEqual(["FileMode", "IsDir", "ModTime", "Name", "Size"]);
    expect(alloc.ModTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const logs = await until(async () => {
      const r = await api(agent(), "GET", `/v1/client/fs/ls/${allocId}?path=/alloc/logs`);
      return r.json.some((f: any) => f.Name === "main.stdout.0" && f.Size > 0) ? r : undefined;
    }, "the task's stdout file");
    const file = logs.json.find((f: any) => f.Name === "main.stdout.0");
    expect(file).toMatchObject({ IsDir: false, Size: "hello-files\n".length, FileMode: expect.stringMatching(/^-[rwx-]{9}$/) });
    const stat = await api(agent(), "GET", `/v1/client/fs/stat/${allocId}?path=alloc/logs/main.stdout.0`);
    expect(stat.json).toMatchObject({ Name: "main.stdout.0", IsDir: false, Size: file.Size, ContentType: "text/plain; charset=utf-8" });
  });

  it("reads files with cat and readat", async () => {
    const cat = await api(agent(), "GET", `/v1/client/fs/cat/${allocId}?path=alloc/logs/main.stdout.0`);
    expect([cat.status, cat.text]).toEqual([200, "hello-files\n"]);
    const at = await api(agent(), "GET", `/v1/client/fs/readat/${allocId}?path=alloc/logs/main.stdout.0&offset=6&limit=5`);
    expect([at.status, at.text]).toEqual([200, "files"]);
    const rest = await api(agent(), "GET", `/v1/client/fs/readat/${allocId}?path=alloc/logs/main.stdout.0&offset=6`);
    expect(rest.text).toBe("files\n");
  });

  it("answers the client's error codes and texts", async () => {
    const id = allocId;
    const statMissing = await api(agent(), "GET", `/v1/client/fs/stat/${id}?path=nope.txt`);
    expect(statMissing.status).toBe(404);
    expect(statMissing.text).toMatch(/^stat \/.*\/nope\.txt: no such file or directory$/);
    const lsMissing = await api(agent(), "GET", `/v1/client/fs/ls/${id}?path=nope`);
    expect(lsMissing.status).toBe(404);
    expect(lsMissing.text).toMatch(/^open \/.*\/nope: no such file or directory$/);
    const catMissing = await api(agent(), "GET", `/v1/client/fs/cat/${id}?path=nope.txt`);
    expect(catMissing.status).toBe(400);
    expect(catMissing.text).toMatch(/^stat \/.*\/nope\.txt: no such file or directory$/);
    expect(await pair(api(agent(), "GET", `/v1/client/fs/cat/${id}?path=alloc`))).toEqual([400, 'file "alloc" is a directory']);
    expect(await pair(api(agent(), "GET", `/v1/client/fs/cat/${id}`))).toEqual([400, "must provide a file name"]);
    expect(await pair(api(agent(), "GET", `/v1/client/fs/stat/${id}?path=../../etc/passwd`))).toEqual([500, "Path escapes the alloc directory"]);
    expect(await pair(api(agent(), "GET", `/v1/client/fs/readat/${id}?path=alloc/logs/main.stdout.0`))).toEqual([
      500, 'error parsing offset: strconv.ParseInt: parsing "": invalid syntax',
    ]);
    expect(await pair(api(agent(), "GET", "/v1/client/fs/ls/00000000-0000-0000-0000-000000000000"))).toEqual([
      404, 'Unknown allocation "00000000-0000-0000-0000-000000000000"',
    ]);
  });

  it("answers 404 for routes Nomad routes elsewhere instead of writing a job or reading a node named after the path", async () => {
    const dispatch = await api(agent(), "PUT", "/v1/job/files/dispatch", { Meta: {} });
    expect(dispatch.status).toBe(404);
    expect((await api(agent(), "GET", "/v1/job/files%2Fdispatch")).status).toBe(404);
    expect((await api(agent(), "PUT", `/v1/node/${nodeId}/drain`, {})).status).toBe(404);
    expect((await api(agent(), "GET", "/v1/no-such-endpoint")).status).toBe(404);
  });
});

describe("dev agent fs and node endpoints under ACLs", () => {
  it("needs read-fs for files and node:read (management only here) for nodes", async () => {
    await withDevAgent(
      async (agent) => {
        const tokens = agent.tokens!;
        const as = (token: string) => ({ "X-Nomad-Token": token });
        const nodes403 = readFileSync(new URL("../fixtures/nomad/GET_v1_nodes.403.txt", import.meta.url), "utf8");
        expect(await pair(api(agent, "GET", "/v1/nodes", undefined, as(tokens["read"]!)))).toEqual([403, nodes403]);
        expect((await api(agent, "GET", "/v1/nodes")).status).toBe(200);
        const any = "00000000-0000-0000-0000-000000000000";
        expect(await pair(api(agent, "GET", `/v1/client/fs/ls/${any}`, undefined, as(tokens["read-logs"]!)))).toEqual([403, "Permission denied"]);
        expect(await pair(api(agent, "GET", `/v1/client/fs/cat/${any}?path=x`, undefined, as(tokens["no-read-job"]!)))).toEqual([
          404, `Unknown allocation "${any}"`,
        ]);
      },
      { acl: true },
    );
  });
});

async function pair(r: Promise<{ status: number; text: string }>): Promise<[number, string]> {
  const a = await r;
  return [a.status, a.text];
}
