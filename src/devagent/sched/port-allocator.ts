// Host ports for an allocation's group networks: reserved (static) ports as given, dynamic ports picked from Nomad's
// default range 20000-32000 among ports neither held by another allocation of this agent nor listening on the host.

import type { AllocatedPort } from "../alloc-runtime.js";
import type { Json } from "../state/state-store.js";
import { readTcpTable } from "./tcp-table.js";

const dynamicMin = 20000;
const dynamicMax = 32000;
export const hostIp = "127.0.0.1";

/** Ports in LISTEN state on the host (synchronous and cheap; empty where /proc is missing). */
function hostListeningPorts(): Set<number> {
  return new Set(readTcpTable().filter((s) => s.state === "0A").map((s) => s.localPort));
}

export class PortConflictError extends Error {}

export interface PortAssignment {
  ports: AllocatedPort[];
  /** AllocatedResources.Shared.Networks: the group networks with values filled in. */
  networks: Json[];
}

export function assignPorts(group: Json, inUse: Set<number>): PortAssignment {
  const networks: Json[] = [];
  const ports: AllocatedPort[] = [];
  const taken = new Set([...inUse, ...hostListeningPorts()]);
  for (const net of group.Networks ?? []) {
    const reserved = (net.ReservedPorts ?? []).map((p: Json) => {
      if (inUse.has(p.Value)) throw new PortConflictError(`reserved port collision ${p.Label}=${p.Value}`);
      taken.add(p.Value);
      return { ...p };
    });
    const dynamic = (net.DynamicPorts ?? []).map((p: Json) => ({ ...p, Value: pickDynamic(taken) }));
    for (const p of [...reserved, ...dynamic]) {
      ports.push({ Label: p.Label, Value: p.Value, To: p.To === -1 ? p.Value : p.To, HostIP: hostIp });
    }
    networks.push({
      Mode: net.Mode ?? "",
      Device: net.Device ?? "",
      CIDR: net.CIDR ?? "",
      IP: hostIp,
      Hostname: net.Hostname ?? "",
      MBits: net.MBits ?? 0,
      DNS: net.DNS ?? null,
      ReservedPorts: reserved.length ? reserved : null,
      DynamicPorts: dynamic.length ? dynamic : null,
    });
  }
  return { ports, networks };
}

function pickDynamic(taken: Set<number>): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = dynamicMin + Math.floor(Math.random() * (dynamicMax - dynamicMin));
    if (!taken.has(candidate)) {
      taken.add(candidate);
      return candidate;
    }
  }
  for (let p = dynamicMin; p < dynamicMax; p++) {
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
  throw new PortConflictError("dynamic port selection failed");
}
