// /v1/nodes, /v1/node/:id and /v1/node/:id/allocations for the agent's one client node, in Nomad's shapes
// (command/agent/node_endpoint.go; structs.Node, NodeListStub). The node needs node:read: only the management token
// (no scoped token of acl.ts holds it), so these routes are not listed in routeCapabilities.

import os from "node:os";
import { blockingQuery } from "../http/blocking-query.js";
import { HttpError, methodNotAllowed, notFound } from "../http/http-error.js";
import { sendJson, setQueryMeta } from "../http/reply.js";
import type { Router } from "../http/router.js";
import type { RouteDeps } from "./route-deps.js";

const nodeIndex = 1;

function attributes(deps: RouteDeps): Record<string, string> {
  return {
    "os.name": os.platform(),
    "kernel.name": os.platform(),
    "cpu.arch": os.arch(),
    "cpu.numcores": String(os.cpus().length),
    "cpu.totalcompute": String(deps.node.resources.cpuMhz),
    "memory.totalbytes": String(deps.node.resources.memoryMb * 2 ** 20),
    "nomad.version": deps.version,
    "unique.hostname": deps.node.name,
    "driver.raw_exec": "1",
    "driver.exec": "1",
    "driver.docker": "1",
    "driver.mock_driver": "1",
  };
}

function drivers(): Record<string, unknown> {
  const info = { Attributes: null, Detected: true, Healthy: true, HealthDescription: "Healthy", UpdateTime: new Date(0).toISOString() };
  return Object.fromEntries(["raw_exec", "exec", "docker", "mock_driver"].map((d) => [d, { ...info, Attributes: { [`driver.${d}`]: "true" } }]));
}

function nodeResources(deps: RouteDeps): Record<string, unknown> {
  return {
    Cpu: { CpuShares: deps.node.resources.cpuMhz, TotalCpuCores: os.cpus().length, ReservableCpuCores: os.cpus().map((_, i) => i) },
    Memory: { MemoryMB: deps.node.resources.memoryMb },
    Disk: { DiskMB: 0 },
    Networks: null,
    Devices: null,
    MinDynamicPort: 20000,
    MaxDynamicPort: 32000,
  };
}

const reserved = { Cpu: { CpuShares: 0, ReservedCpuCores: null }, Memory: { MemoryMB: 0 }, Disk: { DiskMB: 0 }, Networks: { ReservedHostPorts: "" } };

function hostVolumes(deps: RouteDeps): Record<string, unknown> {
  return Object.fromEntries(Object.entries(deps.node.hostVolumes).map(([name, path]) => [name, { Name: name, Path: path, ReadOnly: false }]));
}

function nodeStub(deps: RouteDeps, withResources: boolean): Record<string, unknown> {
  return {
    Address: "127.0.0.1",
    ID: deps.node.id,
    Attributes: { "os.name": os.platform(), "nomad.version": deps.version },
    Datacenter: deps.node.datacenter,
    Name: deps.node.name,
    NodePool: "default",
    NodeClass: "",
    Version: deps.version,
    Drain: false,
    SchedulingEligibility: "eligible",
    Status: "ready",
    StatusDescription: "",
    Drivers: drivers(),
    HostVolumes: hostVolumes(deps),
    ...(withResources ? { NodeResources: nodeResources(deps), ReservedResources: reserved } : {}),
    LastDrain: null,
    CreateIndex: nodeIndex,
    ModifyIndex: nodeIndex,
  };
}

function node(deps: RouteDeps): Record<string, unknown> {
  const url = new URL(deps.address());
  return {
    ID: deps.node.id,
    SecretID: "",
    Datacenter: deps.node.datacenter,
    Name: deps.node.name,
    CgroupParent: "",
    HTTPAddr: url.host,
    TLSEnabled: url.protocol === "https:",
    Attributes: attributes(deps),
    NodeResources: nodeResources(deps),
    ReservedResources: reserved,
    Resources: { CPU: deps.node.resources.cpuMhz, Cores: 0, MemoryMB: deps.node.resources.memoryMb, MemoryMaxMB: 0, DiskMB: 0, IOPS: 0, Networks: null, Devices: null },
    Reserved: { CPU: 0, Cores: 0, MemoryMB: 0, MemoryMaxMB: 0, DiskMB: 0, IOPS: 0, Networks: null, Devices: null },
    Links: null,
    Meta: {},
    NodeClass: "",
    NodePool: "default",
    ComputedClass: "",
    Drain: false,
    DrainStrategy: null,
    SchedulingEligibility: "eligible",
    Status: "ready",
    StatusDescription: "",
    StatusUpdatedAt: Math.floor(Date.now() / 1000),
    Events: [{ Message: "Node registered", Subsystem: "Cluster", Details: null, Timestamp: new Date(0).toISOString(), CreateIndex: 0 }],
    Drivers: drivers(),
    CSIControllerPlugins: null,
    CSINodePlugins: null,
    HostVolumes: hostVolumes(deps),
    HostNetworks: null,
    LastDrain: null,
    CreateIndex: nodeIndex,
    ModifyIndex: nodeIndex,
  };
}

export function registerNodeRoutes(router: Router, deps: RouteDeps): void {
  const { store } = deps;
  router.add("GET", "/v1/nodes", (ctx) => {
    const prefix = ctx.query.get("prefix") ?? "";
    setQueryMeta(ctx.res, nodeIndex);
    const list = deps.node.id.startsWith(prefix) ? [nodeStub(deps, ctx.query.get("resources") === "true")] : [];
    sendJson(ctx.res, list);
  });
  router.add(["GET", "PUT", "POST", "DELETE"], "/v1/node/*rest", (ctx) => {
    const rest = ctx.params.rest!;
    // Nomad's NodeSpecificRequest: the suffixes this agent does not serve are 404, never a node named "x/drain".
    if (/\/(evaluate|drain|eligibility|purge)$/.test(rest)) throw new HttpError(404, "");
    if (rest.endsWith("/allocations")) {
      if (ctx.req.method !== "GET") throw methodNotAllowed();
      const id = rest.slice(0, -"/allocations".length);
      return blockingQuery(ctx, store, () => ({
        index: store.indexOf("allocs"),
        body: id === deps.node.id ? [...store.allocs.values()].filter((a) => a.NodeID === id) : [],
      }));
    }
    if (ctx.req.method !== "GET") throw methodNotAllowed();
    if (rest !== deps.node.id) {
      setQueryMeta(ctx.res, nodeIndex);
      throw notFound("node not found");
    }
    setQueryMeta(ctx.res, nodeIndex);
    sendJson(ctx.res, node(deps));
  });
}
