// TLS to Nomad configured the way the Nomad CLI is (NOMAD_ADDR=https://..., NOMAD_CACERT, NOMAD_CLIENT_CERT,
// NOMAD_CLIENT_KEY, NOMAD_SKIP_VERIFY), against the dev agent serving HTTPS: the plugin reaches Nomad only when the
// server's certificate is trusted (or verification is skipped) and, where Nomad demands one, it shows its client
// certificate. Certificates are made here with the openssl CLI.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { startPluginProcess, providerClientOf } from "../helpers/plugin-process.js";

let dir: string;
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, both signed by the CA; plus a
 *  second, unrelated CA to prove verification is real. */
function makeCertificates(): void {
  const ca = (name: string) =>
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
      "-keyout", file(`${name}.key`), "-out", file(`${name}.pem`), "-subj", `/CN=${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  ca("ca");
  ca("other-ca");
  const leaf = (name: string, ext: string) => {
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", `/CN=${name}`);
    writeFileSync(file(`${name}.ext`), ext);
    openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
      "-days", "1", "-out", file(`${name}.pem`), "-extfile", file(`${name}.ext`));
  };
  leaf("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  leaf("client", "extendedKeyUsage=clientAuth\n");
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nomad-tls-"));
  makeCertificates();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** HealthCheck and Status of a missing instance through a plugin process started with `env`. */
async function probe(env: Record<string, string>): Promise<{ healthy: boolean; message: string; statusCode: number }> {
  const plugin = await startPluginProcess({ env });
  const client = providerClientOf(plugin);
  try {
    const health = await client.healthCheck({});
    const statusCode = await client.status({ instanceId: "inst_tls" }).then(
      () => GrpcStatus.OK,
      (err: { code: number }) => err.code,
    );
    return { healthy: health.healthy, message: health.message, statusCode };
  } finally {
    client.close();
    await plugin.kill();
  }
}

describe("Nomad over TLS with server verification", () => {
  let agent: DevAgent;
  beforeAll(async () => {
    agent = await startDevAgent({ port: 0, tls: { cert: file("server.pem"), key: file("server.key") } });
  });
  afterAll(() => agent?.close());

  it("works with NOMAD_CACERT naming the CA that signed Nomad's certificate", async () => {
    expect(agent.address).toMatch(/^https:/);
    expect(await probe({ NOMAD_ADDR: agent.address, NOMAD_CACERT: file("ca.pem") })).toMatchObject({ healthy: true, statusCode: GrpcStatus.NOT_FOUND });
  });

  it("refuses a Nomad whose certificate another CA signed (healthy=false, UNAVAILABLE)", async () => {
    const result = await probe({ NOMAD_ADDR: agent.address, NOMAD_CACERT: file("other-ca.pem") });
    expect(result).toMatchObject({ healthy: false, statusCode: GrpcStatus.UNAVAILABLE });
  });

  it("works with NOMAD_SKIP_VERIFY=true and no CA", async () => {
    expect(await probe({ NOMAD_ADDR: agent.address, NOMAD_SKIP_VERIFY: "true" })).toMatchObject({ healthy: true, statusCode: GrpcStatus.NOT_FOUND });
  });
});

describe("Nomad over mutual TLS", () => {
  let agent: DevAgent;
  beforeAll(async () => {
    agent = await startDevAgent({ port: 0, tls: { cert: file("server.pem"), key: file("server.key"), ca: file("ca.pem") } });
  });
  afterAll(() => agent?.close());

  it("presents NOMAD_CLIENT_CERT/NOMAD_CLIENT_KEY when Nomad requires a client certificate", async () => {
    const env = { NOMAD_ADDR: agent.address, NOMAD_CACERT: file("ca.pem"), NOMAD_CLIENT_CERT: file("client.pem"), NOMAD_CLIENT_KEY: file("client.key") };
    expect(await probe(env)).toMatchObject({ healthy: true, statusCode: GrpcStatus.NOT_FOUND });
  });

  it("is refused without a client certificate (healthy=false, UNAVAILABLE)", async () => {
    expect(await probe({ NOMAD_ADDR: agent.address, NOMAD_CACERT: file("ca.pem") })).toMatchObject({ healthy: false, statusCode: GrpcStatus.UNAVAILABLE });
  });
});
