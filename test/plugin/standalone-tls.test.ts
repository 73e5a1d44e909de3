// Standalone mode over mutual TLS (--tls-cert/--tls-key/--tls-client-ca): clients verify the server as "localhost",
// and only clients presenting a certificate from the client CA get in.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, status, type ChannelCredentials } from "@grpc/grpc-js";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { generateHostCertificate, startStandaloneProcess, type HostCertificate, type StandaloneProcess } from "../helpers/plugin-process.js";

let dir: string;
let server: HostCertificate;
let client: HostCertificate;
let plugin: StandaloneProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "standalone-tls-"));
  server = generateHostCertificate();
  client = generateHostCertificate();
  writeFileSync(join(dir, "server.pem"), server.certPem);
  writeFileSync(join(dir, "server-key.pem"), server.keyPem);
  writeFileSync(join(dir, "client-ca.pem"), client.certPem);
  plugin = await startStandaloneProcess({
    args: ["--tls-cert", join(dir, "server.pem"), "--tls-key", join(dir, "server-key.pem"), "--tls-client-ca", join(dir, "client-ca.pem")],
  });
});
afterAll(async () => {
  await plugin?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function info(creds: ChannelCredentials) {
  // The server certificate names "localhost"; the address is 127.0.0.1.
  const c = createServiceClient(ProviderService, plugin.address, creds, { "grpc.ssl_target_name_override": "localhost" });
  try {
    return await c.info({}, { deadlineMs: 3000 });
  } finally {
    c.close();
  }
}

describe("standalone mutual TLS", () => {
  it("serves a client that presents a certificate from the client CA", async () => {
    const creds = credentials.createSsl(Buffer.from(server.certPem), Buffer.from(client.keyPem), Buffer.from(client.certPem));
    expect((await info(creds)).name).toBe("nomad");
  });

  it("refuses a client without a certificate", async () => {
    await expect(info(credentials.createSsl(Buffer.from(server.certPem)))).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  it("prints https buf curl examples", () => {
    expect(plugin.stderr()).toContain(
      `npx buf curl --protocol grpc https://${plugin.address}/ctrlplane.provider.v1.ProviderService/Info --cacert <server-cert.pem> --cert <client-cert.pem> --key <client-key.pem>`,
    );
  });
});
