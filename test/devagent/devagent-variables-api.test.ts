// The dev agent's Nomad Variables API answers like Nomad's (command/agent/variable_endpoint.go): create/read/
// list/delete, check-and-set conflicts as 409 with the conflicting variable, Nomad's path rules, 404 text, ACL 403.

import { describe, expect, it } from "vitest";
import { api, useDevAgent, withDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent();
const metaKeys = ["Namespace", "Path", "CreateIndex", "CreateTime", "ModifyIndex", "ModifyTime"];

describe("Nomad Variables API on the dev agent", () => {
  it("creates, reads back with Items and metadata, and indexes the write", async () => {
    const put = await api(agent(), "PUT", "/v1/var/app/db", { Path: "app/db", Items: { user: "me", password: "p4ss" } });
    expect(put.status).toBe(200);
    expect(Object.keys(put.json)).toEqual([...metaKeys, "Items"]);
    expect(put.json).toMatchObject({ Namespace: "default", Path: "app/db", Items: { user: "me", password: "p4ss" } });
    expect(put.json.CreateIndex).toBe(put.json.ModifyIndex);
    expect(put.headers.get("x-nomad-index")).toBe(String(put.json.ModifyIndex));
    const got = await api(agent(), "GET", "/v1/var/app/db");
    expect(got.status).toBe(200);
    expect(got.json).toEqual(put.json);
    expect(got.headers.get("x-nomad-index")).toBe(String(put.json.ModifyIndex));
  });

  it("answers 404 'variable not found' for a missing path and 400 without Items", async () => {
    const missing = await api(agent(), "GET", "/v1/var/nope/here");
    expect([missing.status, missing.text]).toEqual([404, "variable not found"]);
    const empty = await api(agent(), "PUT", "/v1/var/app/empty", { Items: {} });
    expect([empty.status, empty.text]).toEqual([400, "variable missing required Items object"]);
  });

  it("enforces Nomad's path rules", async () => {
    const reserved = await api(agent(), "PUT", "/v1/var/nomad/other", { Items: { a: "b" } });
    expect(reserved.status).toBe(500);
    expect(reserved.text).toMatch(/only paths at "nomad\/jobs"/);
    const bad = await api(agent(), "PUT", "/v1/var/has.dot", { Items: { a: "b" } });
    expect([bad.status, bad.text]).toEqual([500, 'invalid path "has.dot"']);
  });

  it("check-and-set: cas=0 creates only when absent, a stale index conflicts with 409 and the current variable", async () => {
    const first = await api(agent(), "PUT", "/v1/var/cas/one?cas=0", { Items: { v: "1" } });
    expect(first.status).toBe(200);
    const again = await api(agent(), "PUT", "/v1/var/cas/one?cas=0", { Items: { v: "2" } });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ Path: "cas/one", ModifyIndex: first.json.ModifyIndex, Items: { v: "1" } });
    const update = await api(agent(), "PUT", `/v1/var/cas/one?cas=${first.json.ModifyIndex}`, { Items: { v: "3" } });
    expect(update.status).toBe(200);
    expect(update.json.CreateIndex).toBe(first.json.CreateIndex);
    expect(update.json.ModifyIndex).toBeGreaterThan(first.json.ModifyIndex);
    const absent = await api(agent(), "PUT", "/v1/var/cas/absent?cas=7", { Items: { v: "1" } });
    expect(absent.status).toBe(409);
    expect(absent.json).toMatchObject({ Path: "cas/absent", ModifyIndex: 0, Items: null });
    const unparsable = await api(agent(), "PUT", "/v1/var/cas/one?cas=x", { Items: { v: "1" } });
    expect(unparsable.status).toBe(400);
  });

  it("lists metadata without Items, filtered by prefix, and deletes with 204 (idempotently, CAS honoured)", async () => {
    await api(agent(), "PUT", "/v1/var/list/a", { Items: { k: "secret-a" } });
    await api(agent(), "PUT", "/v1/var/list/b", { Items: { k: "secret-b" } });
    await api(agent(), "PUT", "/v1/var/listing", { Items: { k: "x" } });
    const list = await api(agent(), "GET", "/v1/vars?prefix=list/");
    expect(list.status).toBe(200);
    expect(list.json.map((v: { Path: string }) => v.Path)).toEqual(["list/a", "list/b"]);
    expect(Object.keys(list.json[0])).toEqual(metaKeys);
    expect(list.text).not.toContain("secret-a");
    const stale = await api(agent(), "DELETE", "/v1/var/list/a?cas=1");
    expect(stale.status).toBe(409);
    const del = await api(agent(), "DELETE", "/v1/var/list/a");
    expect([del.status, del.text]).toEqual([204, ""]);
    expect(Number(del.headers.get("x-nomad-index"))).toBeGreaterThan(0);
    expect((await api(agent(), "GET", "/v1/var/list/a")).status).toBe(404);
    expect((await api(agent(), "DELETE", "/v1/var/list/a")).status).toBe(204);
  });

  it("blocks a read until the variable changes", async () => {
    const put = await api(agent(), "PUT", "/v1/var/block/me", { Items: { v: "1" } });
    const read = api(agent(), "GET", `/v1/var/block/me?index=${put.json.ModifyIndex}&wait=5s`);
    await api(agent(), "PUT", "/v1/var/block/me", { Items: { v: "2" } });
    const answer = await read;
    expect(answer.json.Items).toEqual({ v: "2" });
  });

  it("refuses variable calls without the token when ACLs are on", async () => {
    await withDevAgent(
      async (secured) => {
        const res = await fetch(`${secured.address}/v1/var/app/db`, { method: "PUT", body: JSON.stringify({ Items: { a: "b" } }) });
        expect([res.status, await res.text()]).toEqual([403, "Permission denied"]);
        const list = await fetch(`${secured.address}/v1/vars`, { headers: { "X-Nomad-Token": "wrong" } });
        expect(list.status).toBe(403);
        expect((await api(secured, "PUT", "/v1/var/app/db", { Items: { a: "b" } })).status).toBe(200);
      },
      { acl: true },
    );
  });
});
