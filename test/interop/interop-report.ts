// The reports the interop clients print, and what a step must look like given the plugin's Capabilities: an RPC of
// a capability the build lists must work; one it does not list must answer UNIMPLEMENTED (never a fake success).

import { expect } from "vitest";

export interface Step {
  rpc: string;
  /** gRPC code name as the proto spells it (OK, NOT_FOUND, UNIMPLEMENTED, ...), or MARKER_NOT_SEEN for Logs. */
  code: string;
  message?: string;
  ms: number;
  /** The response as protojson (proto field names in lowerCamelCase, enums by name). */
  response?: Record<string, any>;
}

export interface ClientReport {
  steps: Step[];
  logLines: string[];
}

export function step(report: ClientReport, rpc: string): Step {
  const found = report.steps.find((s) => s.rpc === rpc);
  if (!found) throw new Error(`the client made no ${rpc} call; steps: ${report.steps.map((s) => s.rpc).join(", ")}`);
  return found;
}

/** Asserts the step's code is what Capabilities promises; returns whether the capability (so the RPC) is there. */
export function expectPerCapabilities(s: Step, capabilities: string[], capability: string, whenImplemented = "OK"): boolean {
  const label = `${s.rpc} (${s.message ?? ""})`;
  if (capabilities.includes(capability)) {
    expect(s.code, label).toBe(whenImplemented);
    return true;
  }
  expect(s.code, label).toBe("UNIMPLEMENTED");
  return false;
}

export function capabilitiesOf(report: ClientReport): string[] {
  const caps = step(report, "Capabilities");
  expect(caps.code, caps.message).toBe("OK");
  return (caps.response?.capabilities as string[] | undefined) ?? [];
}

/** A ProvisionRequest (protojson) for one MAIN service that prints `marker` and then idles until stopped. */
export function markerWorkload(instanceId: string, marker: string): Record<string, unknown> {
  return {
    instanceId,
    tenantId: "tenant-interop",
    name: "interop",
    services: [
      {
        name: "main",
        image: "busybox:1.36",
        role: "SERVICE_ROLE_MAIN",
        command: ["/bin/sh", "-c", `echo ${marker}; exec sleep 600`],
        resources: { cpuMillis: 100, memoryMb: 64, replicas: 1 },
      },
    ],
  };
}
