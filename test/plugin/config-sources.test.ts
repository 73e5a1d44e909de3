// Where configuration comes from: flags over CP_NOMAD_* over the Nomad CLI's NOMAD_* variables, with defaults.

import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

const load = (env: Record<string, string>, argv: string[] = [], files: Record<string, string> = {}) =>
  loadConfig({
    argv,
    env,
    readFile: (p) => {
      if (p in files) return files[p]!;
      throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    },
  });

describe("config sources", () => {
  it("uses Nomad's defaults when nothing is set", () => {
    const c = load({});
    expect(c.nomad).toEqual({ address: "http://localhost:4646", token: undefined, region: undefined, namespace: "default", tls: undefined });
    expect(c.datacenters).toEqual([]);
    expect(c.cpuMhzPerCore).toBe(1000);
    expect(c.logLevel).toBe("info");
    expect(c.standalone).toBeUndefined();
    expect([c.magicCookieKey, c.magicCookieValue]).toEqual(["CTRLPLANE_PLUGIN", "nomad-provider"]);
  });

  it("falls back to the Nomad CLI variables", () => {
    const c = load({ NOMAD_ADDR: "https://nomad.example:4646", NOMAD_TOKEN: "s3cret", NOMAD_REGION: "eu", NOMAD_NAMESPACE: "apps" });
    expect(c.nomad).toMatchObject({ address: "https://nomad.example:4646", token: "s3cret", region: "eu", namespace: "apps" });
  });

  it("prefers CP_NOMAD_* over NOMAD_*, and flags over both", () => {
    const env = { NOMAD_ADDR: "http://a:1", CP_NOMAD_ADDRESS: "http://b:2", NOMAD_REGION: "r1", CP_NOMAD_REGION: "r2" };
    expect(load(env).nomad).toMatchObject({ address: "http://b:2", region: "r2" });
    expect(load(env, ["--nomad-address", "http://c:3", "--nomad-region=r3"]).nomad).toMatchObject({ address: "http://c:3", region: "r3" });
  });

  it("reads datacenters as a comma list and the CPU factor as a number", () => {
    const c = load({ CP_NOMAD_DATACENTER: "dc1, dc2,dc1", CP_NOMAD_CPU_MHZ_PER_CORE: "2400", CP_NOMAD_LOG_LEVEL: "DEBUG" });
    expect(c.datacenters).toEqual(["dc1", "dc2"]);
    expect(c.cpuMhzPerCore).toBe(2400);
    expect(c.logLevel).toBe("debug");
  });

  it("reads TLS material from the files the NOMAD_* variables name", () => {
    const c = load(
      { NOMAD_CACERT: "/ca.pem", NOMAD_CLIENT_CERT: "/c.pem", NOMAD_CLIENT_KEY: "/k.pem", NOMAD_TLS_SERVER_NAME: "server.global.nomad", NOMAD_SKIP_VERIFY: "false" },
      [],
      { "/ca.pem": "CA PEM", "/c.pem": "CERT PEM", "/k.pem": "KEY PEM" },
    );
    expect(c.nomad.tls).toEqual({ ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM", serverName: "server.global.nomad", skipVerify: false });
    expect(load({ NOMAD_SKIP_VERIFY: "1" }).nomad.tls).toMatchObject({ skipVerify: true });
  });

  it("takes the magic cookie from flags and the standalone settings from --listen and friends", () => {
    const c = load({ CP_PLUGIN_AUTH_TOKEN: "tok" }, ["--magic-cookie-key", "K", "--magic-cookie-value", "V", "--listen", "127.0.0.1:0", "--dev-agent"]);
    expect([c.magicCookieKey, c.magicCookieValue]).toEqual(["K", "V"]);
    expect(c.standalone).toMatchObject({ host: "127.0.0.1", port: 0, loopback: true, authToken: "tok", devAgent: true, tls: undefined });
    expect(load({}, ["--listen", "[::1]:50051"]).standalone).toMatchObject({ host: "::1", port: 50051, loopback: true });
    expect(load({}, ["--listen", "0.0.0.0:50051", "--insecure"]).standalone).toMatchObject({ loopback: false, insecure: true });
  });
});
