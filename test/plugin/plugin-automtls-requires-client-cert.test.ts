// AutoMTLS is mutual: a client that trusts the plugin's certificate but presents none (or a stranger's) is refused.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, status } from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { generateHostCertificate, startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";

let plugin: PluginProcess;
beforeAll(async () => {
  plugin = await startPluginProcess();
});
afterAll(() => plugin?.kill());

async function checkWith(creds: ReturnType<typeof credentials.createSsl>) {
  const health = createServiceClient(Health, plugin.target, creds, plugin.channelOptions);
  try {
    return await health.check({ service: "plugin" }, { deadlineMs: 3000 });
  } finally {
    health.close();
  }
}

describe("AutoMTLS client certificate", () => {
  it("refuses a TLS client without a certificate", async () => {
    const err = await checkWith(credentials.createSsl(Buffer.from(plugin.handshake.certPem!))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
  });

  it("refuses a client certificate other than the host's", async () => {
    const stranger = generateHostCertificate();
    const creds = credentials.createSsl(Buffer.from(plugin.handshake.certPem!), Buffer.from(stranger.keyPem), Buffer.from(stranger.certPem));
    const err = await checkWith(creds).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
  });

  it("refuses plaintext", async () => {
    const err = await checkWith(credentials.createInsecure() as ReturnType<typeof credentials.createSsl>).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.UNAVAILABLE });
  });

  it("serves the host's certificate", async () => {
    expect((await checkWith(plugin.credentials as ReturnType<typeof credentials.createSsl>)).status).toBe(1);
  });
});
