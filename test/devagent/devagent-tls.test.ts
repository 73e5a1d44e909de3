// The dev agent over TLS, as `nomad agent` with a tls block: https only, and with a CA configured (verify_https_client)
// every client must present a certificate signed by that CA. Certificates are made with the openssl CLI.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDevAgent } from "../../src/devagent/index.js";

const dir = mkdtempSync(join(tmpdir(), "devagent-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

function makeCa(name: string): void {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${name}`,
    "-keyout", file(`${name}.key`), "-out", file(`${name}.pem`), "-addext", "basicConstraints=critical,CA:TRUE");
}

function makeLeaf(name: string, ca: string, ext: string): void {
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${name}`, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`));
  execFileSync("sh", ["-c", `printf '%s\\n' "${ext}" > ${file(`${name}.ext`)}`]);
  openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file(`${ca}.pem`), "-CAkey", file(`${ca}.key`), "-CAcreateserial",
    "-days", "1", "-out", file(`${name}.pem`), "-extfile", file(`${name}.ext`));
}

makeCa("ca");
makeCa("rogue-ca");
makeLeaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
makeLeaf("client", "ca", "extendedKeyUsage=clientAuth");
makeLeaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth");

interface Answer {
  status: number;
  body: string;
}

/** GET over https trusting our CA, optionally presenting a client certificate. */
function get(address: string, path: string, clientCert?: "client" | "rogue"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${address}${path}`,
      {
        ca: readFileSync(file("ca.pem")),
        ...(clientCert ? { cert: readFileSync(file(`${clientCert}.pem`)), key: readFileSync(file(`${clientCert}.key`)) } : {}),
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("dev agent TLS", () => {
  it("serves https with the configured certificate and no client certificate when no CA is given", async () => {
    const agent = await startDevAgent({ port: 0, tls: { cert: file("server.pem"), key: file("server.key") } });
    try {
      expect(agent.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const health = await get(agent.address, "/v1/agent/health");
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ server: { ok: true }, client: { ok: true } });
      // Plain http on the TLS port gets no Nomad answer.
      const plain = await fetch(agent.address.replace("https:", "http:") + "/v1/agent/health").then((r) => r.status, () => "failed");
      expect(plain).not.toBe(200);
    } finally {
      await agent.close();
    }
  });

  it("requires a client certificate signed by the CA when a CA is given", async () => {
    const agent = await startDevAgent({ port: 0, tls: { cert: file("server.pem"), key: file("server.key"), ca: file("ca.pem") } });
    try {
      const ok = await get(agent.address, "/v1/status/leader", "client");
      expect(ok.status).toBe(200);
      expect(typeof JSON.parse(ok.body)).toBe("string");
      const jobs = await get(agent.address, "/v1/jobs", "client");
      expect([jobs.status, JSON.parse(jobs.body)]).toEqual([200, []]);

      await expect(get(agent.address, "/v1/status/leader")).rejects.toThrow();
      await expect(get(agent.address, "/v1/status/leader", "rogue")).rejects.toThrow();
    } finally {
      await agent.close();
    }
  });
});
