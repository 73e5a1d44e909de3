// Bad input never crashes the plugin or touches Nomad: for every RPC, 1,000 generated malformed requests (fixed
// fast-check seed) — semantically invalid ones (bad IDs, huge and unicode strings, negative numbers, unknown enum
// values, cyclic depends_on, ...), valid IDs of absent instances, and wire-level garbage sent as raw bytes (random
// bytes, unknown fields, wrong wire types, truncated encodings) — each answered with a documented status:
//   invalid request      -> INVALID_ARGUMENT whose message starts with the field path
//   malformed field of an absent instance -> INVALID_ARGUMENT, or NOT_FOUND when the handler looks the instance up first
//   absent instance      -> NOT_FOUND, or OK where the RPC is idempotent (Deprovision), or INVALID_ARGUMENT
//   undecodable bytes    -> INVALID_ARGUMENT (decodable garbage: whatever its decoded content earns)
//   RPC not in this build-> UNIMPLEMENTED
// and afterwards the dev agent holds no job at all.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { DescMethod } from "@bufbuild/protobuf";
import { families } from "../../src/provider/families.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { execFamily, logsFamily } from "../../src/provider/observe-family.js";
import { ProvisionRequestSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { create, toBinary } from "@bufbuild/protobuf";
import { api, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { fuzzCases, providerMethods, tenThousandServices, type FuzzCase } from "../helpers/fuzz-requests.js";

const runsPerRpc = 1000;
const concurrency = 32;
const implemented = [...new Set([...families, lifecycleFamily, logsFamily, execFamily])];

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: implemented }));
let raw: Client;

beforeAll(async () => {
  raw = new Client(provider().address, credentials.createInsecure(), { "grpc.max_send_message_length": 16 * 1024 * 1024 });
});
afterAll(async () => {
  raw?.close();
});

interface Answer {
  code: number;
  details: string;
}

const identity = (b: Buffer) => b;

/** Sends pre-encoded frames to a method and returns the final status (OK after a completed stream). */
function send(method: DescMethod, frames: Buffer[]): Promise<Answer> {
  const path = `/${method.parent.typeName}/${method.name}`;
  const deadline = Date.now() + 15_000;
  return new Promise((resolve) => {
    const done = (err: ServiceError | null) => resolve(err ? { code: err.code, details: err.details } : { code: GrpcStatus.OK, details: "" });
    if (method.methodKind === "unary") {
      raw.makeUnaryRequest(path, identity, identity, frames[0]!, new Metadata(), { deadline }, (err) => done(err));
      return;
    }
    const call =
      method.methodKind === "server_streaming"
        ? raw.makeServerStreamRequest(path, identity, identity, frames[0]!, new Metadata(), { deadline })
        : raw.makeBidiStreamRequest(path, identity, identity, new Metadata(), { deadline });
    call.on("data", () => {});
    call.on("error", (err: ServiceError) => done(err));
    call.on("end", () => done(null));
    if (method.methodKind === "bidi_streaming") {
      const bidi = call as ReturnType<Client["makeBidiStreamRequest"]>;
      for (const f of frames) bidi.write(f);
      bidi.end();
    }
  });
}

async function runAll(method: DescMethod, cases: FuzzCase[]): Promise<Answer[]> {
  const answers: Answer[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      answers[i] = await send(method, cases[i]!.frames);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

/** What the contract allows for one case; undefined when the answer is fine. */
function violation(c: FuzzCase, a: Answer, unimplemented: boolean): string | undefined {
  const name = GrpcStatus[a.code] ?? String(a.code);
  if (unimplemented) return a.code === GrpcStatus.UNIMPLEMENTED || (c.intent === "wire" && a.code === GrpcStatus.INVALID_ARGUMENT) ? undefined : `${name} from an unimplemented RPC`;
  if (c.intent === "invalid") {
    if (a.code !== GrpcStatus.INVALID_ARGUMENT) return `${name} (${a.details.slice(0, 120)}), expected INVALID_ARGUMENT`;
    if (!/^[a-z_]+[[.:]/.test(a.details)) return `INVALID_ARGUMENT without a field path: ${a.details.slice(0, 120)}`;
    return undefined;
  }
  if (c.intent === "malformed-absent") {
    return a.code === GrpcStatus.INVALID_ARGUMENT || a.code === GrpcStatus.NOT_FOUND ? undefined : `${name} (${a.details.slice(0, 120)})`;
  }
  const allowed = [GrpcStatus.OK, GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND, GrpcStatus.FAILED_PRECONDITION];
  return allowed.includes(a.code) ? undefined : `${name} (${a.details.slice(0, 120)})`;
}

describe("malformed requests, 1,000 per RPC", () => {
  for (const [index, method] of providerMethods.entries()) {
    it(`${method.name} answers each with a documented status`, async () => {
      const probe = await send(method, [Buffer.alloc(0)]);
      const unimplemented = probe.code === GrpcStatus.UNIMPLEMENTED;
      const cases = fuzzCases(method, runsPerRpc, 0x5eed + index);
      expect(cases).toHaveLength(runsPerRpc);
      const answers = await runAll(method, cases);
      const bad = cases.flatMap((c, i) => {
        const v = violation(c, answers[i]!, unimplemented);
        return v ? [`${v} <- ${c.label}`] : [];
      });
      expect(bad.slice(0, 8), `${bad.length} of ${cases.length} answers break the contract`).toEqual([]);
    });
  }
});

describe("undecodable bytes", () => {
  it("are INVALID_ARGUMENT naming the request message, on unary and streaming RPCs", async () => {
    for (const name of ["status", "logs", "execStream"]) {
      const answer = await send(providerMethods.find((m) => m.localName === name)!, [Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x41])]);
      expect(answer.code, answer.details).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(answer.details).toMatch(/^request: not a valid ctrlplane\.provider\.v1\.\w+Request encoding/);
    }
  });
});

describe("pathological Provision requests", () => {
  const expectations = { "short-cycle": /^services\[1\]\.depends_on: dependency cycle/, "no-image": /^services\[9999\]\.image/ } as const;
  for (const [kind, message] of Object.entries(expectations)) {
    it(`rejects 10,000 services (${kind}) with INVALID_ARGUMENT`, async () => {
      const request = tenThousandServices(kind as keyof typeof expectations);
      const bytes = Buffer.from(toBinary(ProvisionRequestSchema, create(ProvisionRequestSchema, request as never)));
      const answer = await send(providerMethods.find((m) => m.localName === "provision")!, [bytes]);
      expect(answer.code, answer.details).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(answer.details).toMatch(message);
    });
  }
});

describe("after the fuzzing", () => {
  it("left no Nomad job behind and the plugin still serves", async () => {
    const jobs = await api(agent(), "GET", "/v1/jobs");
    expect(jobs.status).toBe(200);
    expect(jobs.json).toEqual([]);
    expect((await provider().client.healthCheck({})).healthy).toBe(true);
  });
});
