// Exec with ws_handshake=true on a dev agent with ACLs: the token arrives in the first WebSocket message
// ({"version":1,"auth_token":"..."}) and is checked then. A wrong or missing token closes the socket with Nomad's
// policy-violation code and its 403 text, and runs nothing; the management token runs the command.

import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ acl: true });

async function runningAlloc(): Promise<string> {
  await api(agent(), "POST", "/v1/jobs", shJob("exec-acl", "exec sleep 600"));
  return until(async () => {
    const allocs = (await api(agent(), "GET", "/v1/job/exec-acl/allocations")).json as { ID: string; ClientStatus: string }[];
    return allocs.find((a) => a.ClientStatus === "running")?.ID;
  }, "a running allocation");
}

async function execWithHandshake(allocId: string, token: string | undefined): Promise<{ code: number; reason: string; stdout: string }> {
  const query = new URLSearchParams({ task: "main", command: JSON.stringify(["/bin/sh", "-c", "echo ran"]), ws_handshake: "true" });
  const ws = new WebSocket(`${agent().address.replace("http", "ws")}/v1/client/allocation/${allocId}/exec?${query}`);
  let stdout = "";
  ws.on("message", (data) => {
    const m = JSON.parse(String(data));
    if (m.stdout?.data) stdout += Buffer.from(m.stdout.data, "base64").toString();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  ws.send(JSON.stringify({ version: 1, ...(token !== undefined ? { auth_token: token } : {}) }));
  return { ...(await closed), stdout };
}

describe("exec handshake token with ACLs", () => {
  it("refuses a wrong token and a missing one, and runs the command for the management token", async () => {
    const allocId = await runningAlloc();
    expect(await execWithHandshake(allocId, "00000000-0000-0000-0000-000000000000")).toEqual({ code: 1008, reason: "ACL token not found", stdout: "" });
    expect(await execWithHandshake(allocId, undefined)).toEqual({ code: 1008, reason: "Permission denied", stdout: "" });
    expect(await execWithHandshake(allocId, agent().managementToken!)).toEqual({ code: 1006, reason: "", stdout: "ran\n" });
  });

});
