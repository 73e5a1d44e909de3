// A go-plugin 1.6+ host with GRPCBrokerMultiplex and AutoMTLS, in Go with the real hashicorp/yamux client and
// grpc-go (test/interop/go-host/mux_host.go, from go-plugin's client.go and internal/grpcmux): one connection to the
// plugin's socket, every gRPC connection a yamux stream with TLS inside. What such a host would notice: the plugin
// says it multiplexes (7th field `true`), answers health "plugin" and Info on two gRPC connections of that one
// connection, and exits 0 on Shutdown.

import { describe, expect, it } from "vitest";
import { buildGoHost, pluginEntry } from "./interop-build.js";
import { lastJsonLine, runProgram } from "./interop-processes.js";
import { refusingAddress } from "../helpers/plugin-process.js";

interface Step {
  rpc: string;
  code: string;
  message?: string;
  response?: Record<string, unknown>;
}

interface MuxReport {
  fields: string[];
  steps: Step[];
  exitCode: number;
  fatalError?: string;
}

describe("a Go go-plugin 1.6+ host that multiplexes over yamux", () => {
  it("gets `true` as the 7th field, and health, Info on two connections and Shutdown all work over one connection", async () => {
    const goHost = await buildGoHost();
    if (goHost.buildMs > 0) console.log(`go-host built in ${goHost.buildMs} ms`);
    const result = await runProgram(goHost.path, ["-multiplex", "--", process.execPath, pluginEntry()], {
      env: { ...process.env, CP_NOMAD_ADDRESS: await refusingAddress() },
      timeoutMs: 55_000,
    });
    const report = lastJsonLine<MuxReport>(result);
    expect(report.fatalError, result.stderr).toBeUndefined();
    expect(report.fields).toHaveLength(7);
    expect(report.fields[6]).toBe("true");
    expect(report.steps.map((s) => [s.rpc, s.code])).toEqual([
      ["Health(plugin)", "OK"],
      ["Info", "OK"],
      ["Info(second connection)", "OK"],
      ["Shutdown", "OK"],
    ]);
    expect(report.steps[1]!.response).toMatchObject({ name: "nomad" });
    expect(report.exitCode).toBe(0);
  }, 240_000);
});
