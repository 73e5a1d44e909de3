// A bad setting stops start-up with a message that names the variable or flag, and never shows a secret.

import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

function errorFor(env: Record<string, string>, argv: string[] = []): ConfigError {
  try {
    loadConfig({ argv, env, readFile: () => { throw Object.assign(new Error("nope"), { code: "ENOENT" }); } });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config errors", () => {
  it.each([
    [{ CP_NOMAD_ADDRESS: "not a url" }, "CP_NOMAD_ADDRESS"],
    [{ NOMAD_ADDR: "ftp://x:1" }, "NOMAD_ADDR"],
    [{ CP_NOMAD_REGION: "eu west" }, "CP_NOMAD_REGION"],
    [{ NOMAD_NAMESPACE: "a/b" }, "NOMAD_NAMESPACE"],
    [{ CP_NOMAD_DATACENTER: "dc1,,dc2" }, "CP_NOMAD_DATACENTER"],
    [{ CP_NOMAD_CPU_MHZ_PER_CORE: "fast" }, "CP_NOMAD_CPU_MHZ_PER_CORE"],
    [{ CP_NOMAD_CPU_MHZ_PER_CORE: "0" }, "CP_NOMAD_CPU_MHZ_PER_CORE"],
    [{ CP_NOMAD_LOG_LEVEL: "loud" }, "CP_NOMAD_LOG_LEVEL"],
    [{ NOMAD_SKIP_VERIFY: "maybe" }, "NOMAD_SKIP_VERIFY"],
    [{ NOMAD_CACERT: "/missing/ca.pem" }, "NOMAD_CACERT"],
    [{ NOMAD_CLIENT_CERT: "/c.pem" }, "NOMAD_CLIENT_CERT"],
  ])("rejects %o naming %s", (env, variable) => {
    const err = errorFor(env);
    expect(err.source).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
  });

  it("rejects unknown flags and stray arguments", () => {
    expect(errorFor({}, ["--nomad-adress", "x"]).message).toMatch(/nomad-adress/);
    expect(errorFor({}, ["serve"]).source).toBe("serve");
  });

  it("refuses a plaintext non-loopback listener unless --insecure or TLS is given", () => {
    const err = errorFor({}, ["--listen", "0.0.0.0:50051"]);
    expect(err.source).toBe("--listen");
    expect(err.message).toMatch(/--insecure/);
    expect(errorFor({}, ["--listen", "127.0.0.1"]).source).toBe("--listen");
    expect(errorFor({}, ["--tls-cert", "/c"]).source).toBe("--tls-cert");
  });

  it("never echoes a malformed token", () => {
    const err = errorFor({ CP_NOMAD_TOKEN: "abc def-very-secret" });
    expect(err.source).toBe("CP_NOMAD_TOKEN");
    expect(err.message).not.toContain("very-secret");
  });
});
