// Generators of malformed ProviderService requests for the fuzz test: per RPC, requests the contract calls invalid
// (bad instance IDs, negative numbers, unknown enum values, cyclic depends_on, ...), requests that are only unknown
// to Nomad (valid IDs of absent instances), and wire-level garbage (random bytes, unknown fields, wrong wire types,
// truncated encodings) built on the invalid ones, so no generated request can ever create a Nomad job.

import fc from "fast-check";
import { create, toBinary, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { ProviderService, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";

/** invalid: the contract says INVALID_ARGUMENT. malformed-absent: a malformed field on an instance that does not
 *  exist (INVALID_ARGUMENT or NOT_FOUND, whichever the handler checks first). absent: well-formed, names nothing. */
export type Intent = "invalid" | "malformed-absent" | "absent" | "wire";

export interface FuzzCase {
  intent: Intent;
  /** The encoded request (or, for bidi streams, each request message in order). */
  frames: Buffer[];
  /** A short description for failure messages. */
  label: string;
}

type Init = Record<string, unknown>;

const invalidId = fc.oneof(
  { weight: 10, arbitrary: fc.constant("") },
  { weight: 30, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }).filter((s) => !/^[A-Za-z0-9_-]{1,120}$/.test(s)) },
  { weight: 15, arbitrary: fc.constantFrom("../etc/passwd", "a/b", "a b", "inst\u0000x", "ünïcødé", "🚀", "%2e%2e", "x?region=other", "a#b", "\u202etxt") },
  { weight: 10, arbitrary: fc.integer({ min: 121, max: 4096 }).map((n) => "x".repeat(n)) },
  // Huge: 360 KB of UTF-8 in one field.
  { weight: 1, arbitrary: fc.constant("é🚀".repeat(60_000)) },
);

/** Valid instance IDs that no test creates. */
const absentId = fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/).map((s) => `fz_${s}`);

const negative = fc.integer({ min: -2_147_483_648, max: -1 });
const badEnum = fc.oneof(fc.integer({ min: 4, max: 1_000_000 }), negative);
const badLabel = fc.oneof(
  fc.constant(""),
  fc.constantFrom("UPPER", "-lead", "trail-", "a_b", "dots.x", "ünï", "🚀", "a".repeat(64)),
  fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).filter((s) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s)),
);
const goodLabel = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const badDuration = fc.oneof(
  fc.record({ seconds: fc.bigInt({ min: -10_000n, max: -1n }), nanos: fc.constant(0) }),
  fc.record({ seconds: fc.constant(0n), nanos: fc.integer({ min: -999_999_999, max: -1 }) }),
);

function service(name: string, role: ServiceRole): Init {
  return { name, image: "busybox", role, command: ["/bin/sh", "-c", "exit 0"] };
}

/** A well-formed Provision request; the corruptions below make it invalid. */
const provisionBase = fc
  .uniqueArray(goodLabel, { minLength: 1, maxLength: 4 })
  .chain((names) => fc.record({ id: absentId, names: fc.constant(names) }))
  .map(({ id, names }) => ({
    instanceId: id,
    services: names.map((n, i) => service(n, i === 0 ? ServiceRole.MAIN : ServiceRole.SIDECAR)),
  }));

type Corruption = (req: { instanceId: string; services: Init[] } & Init) => fc.Arbitrary<Init>;

const first = (req: { services: Init[] }) => req.services[0]!;
const withFirst = (req: { services: Init[] } & Init, patch: Init): Init => ({ ...req, services: [{ ...first(req), ...patch }, ...req.services.slice(1)] });

const provisionCorruptions: Corruption[] = [
  (r) => invalidId.map((instanceId) => ({ ...r, instanceId })),
  (r) => fc.constant({ ...r, services: [] }),
  (r) => fc.constant({ ...r, services: r.services.map((s) => ({ ...s, role: ServiceRole.SIDECAR })) }),
  (r) => fc.constant({ ...r, services: [...r.services, service("second-main", ServiceRole.MAIN)] }),
  (r) => badLabel.map((name) => withFirst(r, { name })),
  (r) => fc.constant({ ...r, services: [...r.services, { ...first(r), role: ServiceRole.SIDECAR }] }),
  (r) => fc.constantFrom("", "   ").map((image) => withFirst(r, { image })),
  (r) => badEnum.map((role) => withFirst(r, { role })),
  (r) => badEnum.map((kind) => ({ ...r, kind })),
  (r) => fc.constant(withFirst(r, { dependsOn: ["no-such-service"] })),
  (r) => fc.constant(withFirst(r, { dependsOn: [first(r).name] })),
  // A cycle through every service: main -> s1 -> ... -> main.
  (r) =>
    fc.constant({
      ...r,
      services: [...r.services, service("cyc-a", ServiceRole.SIDECAR), service("cyc-b", ServiceRole.SIDECAR)].map((s, i, all) => ({
        ...s,
        dependsOn: [all[(i + 1) % all.length]!.name],
      })),
    }),
  (r) => fc.record({ cpuMillis: negative }).map((resources) => withFirst(r, { resources })),
  (r) => fc.record({ memoryMb: negative }).map((resources) => withFirst(r, { resources })),
  (r) => fc.record({ diskMb: negative }).map((resources) => withFirst(r, { resources })),
  (r) => fc.record({ replicas: negative }).map((resources) => withFirst(r, { resources })),
  (r) => fc.constantFrom("0", "-1", "nvidia", "a/b/c/d:1", "nvidia/gpu:0", "🚀:1", "1;rm -rf /").map((gpu) => withFirst(r, { resources: { gpu } })),
  (r) => fc.oneof(fc.constant(0), negative, fc.integer({ min: 65_536, max: 2_147_483_647 })).map((container) => withFirst(r, { ports: [{ container }] })),
  (r) => fc.oneof(negative, fc.integer({ min: 65_536, max: 2_147_483_647 })).map((host) => withFirst(r, { ports: [{ container: 80, host }] })),
  (r) => fc.constantFrom("sctp", "HTTP ", "tcp\u0000", "ünï").map((protocol) => withFirst(r, { ports: [{ container: 80, protocol }] })),
  (r) => fc.constantFrom("UP", "a-b", "ünï", " ").map((name) => withFirst(r, { ports: [{ container: 80, name }] })),
  (r) => fc.constant(withFirst(r, { ports: [{ container: 80 }, { container: 80 }] })),
  (r) => fc.constantFrom("relative/path", "", "data").map((mountPath) => withFirst(r, { volumes: [{ name: "v", mountPath }] })),
  (r) => fc.constantFrom("nfs", "HOST", "🚀").map((type) => withFirst(r, { volumes: [{ name: "v", mountPath: "/v", type }] })),
  (r) => badLabel.map((name) => withFirst(r, { volumes: [{ name, mountPath: "/v" }] })),
  (r) => fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 80).map((port) => withFirst(r, { ports: [{ container: 80 }], healthCheck: { port } })),
  (r) => negative.map((retries) => withFirst(r, { ports: [{ container: 80 }], healthCheck: { retries } })),
  (r) => badDuration.map((interval) => withFirst(r, { ports: [{ container: 80 }], healthCheck: { interval } })),
  (r) => fc.constant(withFirst(r, { secrets: [{ key: "", value: "s3cr3t" }] })),
  (r) => fc.constantFrom("1BAD", "A-B", "A B", "É", "A=B").map((envKey) => withFirst(r, { secrets: [{ key: "k", envKey, value: "v" }] })),
  (r) => fc.constantFrom("xml", "JSON", "🚀").map((format) => withFirst(r, { configFiles: [{ name: "c", path: "/etc/c", format, content: "x" }] })),
  (r) => fc.constantFrom("", "../../etc/passwd").map((path) => withFirst(r, { configFiles: [{ name: "c", path, content: "x" }] })),
  (r) => fc.constantFrom("", "1X", "A B", "A=B", "é", "\u0000").map((k) => withFirst(r, { env: { [k]: "v" } })),
  (r) => fc.constantFrom("", "ünï", "a b", "x".repeat(200)).map((k) => ({ ...r, labels: { [k]: "v" } })),
];

const provisionInvalid: fc.Arbitrary<Init> = provisionBase.chain((base) =>
  fc.integer({ min: 0, max: provisionCorruptions.length - 1 }).chain((i) => provisionCorruptions[i]!(base)),
);

/** 10,000 services: a dependency cycle through all of them (deep), one between two of them (short), or valid
 *  dependencies but no image on the last service. */
export function tenThousandServices(kind: "deep-cycle" | "short-cycle" | "no-image"): Init {
  const n = 10_000;
  const dependsOn = (i: number): string[] => {
    if (kind === "deep-cycle") return [`s${(i + 1) % n}`];
    if (kind === "short-cycle") return i === 1 ? ["s2"] : i === 2 ? ["s1"] : [];
    return i > 0 ? [`s${i - 1}`] : [];
  };
  const services = Array.from({ length: n }, (_, i) => ({
    ...service(`s${i}`, i === 0 ? ServiceRole.MAIN : ServiceRole.SIDECAR),
    dependsOn: dependsOn(i),
    ...(kind === "no-image" && i === n - 1 ? { image: "" } : {}),
  }));
  return { instanceId: "fz_ten_thousand", services };
}

const idOnly = fc.oneof({ weight: 3, arbitrary: invalidId.map((instanceId) => ({ i: "invalid" as Intent, r: { instanceId } as Init })) }, { weight: 1, arbitrary: absentId.map((instanceId) => ({ i: "absent" as Intent, r: { instanceId } as Init })) });

const invalidOf = (a: fc.Arbitrary<Init>) => a.map((r) => ({ i: "invalid" as Intent, r }));
/** A malformed request for an absent instance. */
const withId = <T extends Init>(a: fc.Arbitrary<T>) => fc.tuple(absentId, a).map(([instanceId, r]) => ({ i: "malformed-absent" as Intent, r: { ...r, instanceId } as Init }));

/** Semantic generators per method local name: each yields an intent and the request init. */
const semantic: Record<string, fc.Arbitrary<{ i: Intent; r: Init }>> = {
  provision: invalidOf(provisionInvalid),
  deprovision: idOnly,
  start: idOnly,
  stop: idOnly,
  restart: fc.oneof(idOnly, fc.tuple(invalidId, fc.string()).map(([instanceId, serviceName]) => ({ i: "invalid" as Intent, r: { instanceId, serviceName } }))),
  status: idOnly,
  watchStatus: idOnly,
  scale: fc.oneof(
    idOnly,
    withId(fc.oneof(fc.record({ cpuMillis: negative }), fc.record({ memoryMb: negative }), fc.record({ diskMb: negative }), fc.record({ replicas: negative })).map((resources) => ({ resources }))),
  ),
  logs: fc.oneof(
    idOnly,
    withId(negative.map((tail) => ({ tail }))),
    withId(badEnum.map((stream) => ({ stream }))),
    withId(fc.string({ unit: "binary", minLength: 1, maxLength: 200 }).map((cursor) => ({ cursor }))),
    withId(negative.map((maxBatchBytes) => ({ maxBatchBytes }))),
  ),
  resources: fc.oneof(
    idOnly,
    withId(badDuration.map((interval) => ({ interval }))),
    withId(fc.integer({ min: 1, max: 99_999_999 }).map((nanos) => ({ interval: { seconds: 0n, nanos } }))),
  ),
  exec: fc.oneof(
    invalidOf(invalidId.map((instanceId) => ({ instanceId, command: ["true"] }))),
    withId(fc.constantFrom<string[]>([], [""], ["", "x"]).map((command) => ({ command }))),
    withId(negative.map((maxOutputBytes) => ({ command: ["true"], maxOutputBytes }))),
    withId(badDuration.map((timeout) => ({ command: ["true"], timeout }))),
  ),
  deploy: fc.oneof(
    invalidOf(invalidId.map((instanceId) => ({ instanceId, releaseId: "r1", services: [{ name: "main", image: "busybox" }] }))),
    withId(badEnum.map((strategy) => ({ releaseId: "r1", strategy, services: [{ name: "main", image: "busybox" }] }))),
    withId(fc.constant({ releaseId: "r1", services: [{ name: "main", image: "" }] })),
    withId(negative.map((maxParallel) => ({ releaseId: "r1", services: [{ name: "main", image: "busybox" }], options: { maxParallel } }))),
    withId(badDuration.map((minHealthyTime) => ({ releaseId: "r1", services: [{ name: "main", image: "busybox" }], options: { minHealthyTime } }))),
  ),
  promoteDeployment: fc.oneof(idOnly, invalidOf(invalidId.map((instanceId) => ({ instanceId, deploymentId: "d" })))),
  failDeployment: fc.oneof(idOnly, invalidOf(invalidId.map((instanceId) => ({ instanceId, deploymentId: "d" })))),
  rollback: fc.oneof(invalidOf(invalidId.map((instanceId) => ({ instanceId, releaseId: "r1" }))), withId(fc.constant({ releaseId: "" }))),
};

/** Bidi ExecStream: message sequences whose first message is wrong or whose start is invalid. */
type Sequence = { i: Intent; r: Init[] };
const execStreamSemantic = fc.oneof<fc.Arbitrary<Sequence>[]>(
  fc.constant<Sequence>({ i: "invalid", r: [{}] }),
  fc.uint8Array({ maxLength: 64 }).map((stdin) => ({ i: "invalid" as Intent, r: [{ request: { case: "stdin", value: stdin } }] })),
  fc.record({ width: negative, height: negative }).map((value) => ({ i: "invalid" as Intent, r: [{ request: { case: "resize", value } }] })),
  fc.constant<Sequence>({ i: "invalid", r: [{ request: { case: "closeStdin", value: {} } }] }),
  invalidId.map((instanceId) => ({ i: "invalid" as Intent, r: [{ request: { case: "start", value: { instanceId, command: ["sh"] } } }] })),
  absentId.map((instanceId) => ({ i: "malformed-absent" as Intent, r: [{ request: { case: "start", value: { instanceId, command: [] } } }] })),
);

// --- wire level ---------------------------------------------------------------------------------------------------

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** One field with any wire type and a number unknown to every message of the contract (or field 1). */
const unknownOrMistypedField = fc
  .record({
    field: fc.oneof(fc.constant(1), fc.integer({ min: 100, max: 536_870_911 })),
    wire: fc.constantFrom(0, 1, 2, 5),
    payload: fc.uint8Array({ maxLength: 32 }),
    n: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  })
  .map(({ field, wire, payload, n }) => {
    const tag = varint(BigInt((field << 3) | wire) & 0xffffffffn);
    if (wire === 0) return Buffer.from([...tag, ...varint(n)]);
    if (wire === 1) return Buffer.from([...tag, ...new Array(8).fill(0xab)]);
    if (wire === 5) return Buffer.from([...tag, 1, 2, 3, 4]);
    return Buffer.from([...tag, ...varint(BigInt(payload.length)), ...payload]);
  });

function encode(schema: DescMessage, init: Init): Buffer {
  return Buffer.from(toBinary(schema, create(schema, init as never)));
}

/** Wire-level damage to an (invalid) request's encoding. */
function wire(schema: DescMessage, base: fc.Arbitrary<Init>): fc.Arbitrary<Buffer> {
  const encoded = base.map((r) => encode(schema, r));
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 96 }).map((b) => Buffer.from(b)),
    fc.tuple(encoded, fc.array(unknownOrMistypedField, { minLength: 1, maxLength: 4 })).map(([b, extra]) => Buffer.concat([b, ...extra])),
    fc.tuple(unknownOrMistypedField, encoded).map(([extra, b]) => Buffer.concat([extra, b])),
    encoded.chain((b) => fc.integer({ min: 0, max: Math.max(0, b.length - 1) }).map((cut) => b.subarray(0, cut))),
    // A length prefix that promises more bytes than follow.
    encoded.map((b) => Buffer.concat([b, Buffer.from([0x0a, 0xff, 0xff, 0x03, 0x41])])),
  );
}

/** Invalid-only inits for the wire layer: damage to them must never yield a valid request. */
function invalidBase(method: DescMethod): fc.Arbitrary<Init> {
  if (method.input.fields.some((f) => f.localName === "instanceId")) return invalidId.map((instanceId) => ({ instanceId }) as Init);
  if (method.localName === "execStream") return invalidId.map((instanceId) => ({ request: { case: "start", value: { instanceId, command: ["sh"] } } }) as Init);
  return fc.constant({});
}

/** `runs` cases for one method, from a fixed seed: about 60% semantic (where the method has fields), the rest wire-level. */
export function fuzzCases(method: DescMethod, runs: number, seed: number): FuzzCase[] {
  const schema = method.input;
  const cases: FuzzCase[] = [];
  const gen = semantic[method.localName];
  const semanticRuns = method.localName === "execStream" || gen ? Math.round(runs * 0.6) : 0;
  if (method.localName === "execStream") {
    for (const { i, r } of fc.sample(execStreamSemantic, { seed, numRuns: semanticRuns })) {
      cases.push({ intent: i, frames: r.map((m) => encode(schema, m)), label: `semantic ${JSON.stringify(r, replacer).slice(0, 300)}` });
    }
  } else if (gen) {
    for (const { i, r } of fc.sample(gen, { seed, numRuns: semanticRuns })) {
      cases.push({ intent: i, frames: [encode(schema, r)], label: `semantic ${JSON.stringify(r, replacer).slice(0, 300)}` });
    }
  }
  for (const b of fc.sample(wire(schema, invalidBase(method)), { seed: seed + 1, numRuns: runs - semanticRuns })) {
    cases.push({ intent: "wire", frames: [b], label: `wire ${b.subarray(0, 64).toString("hex")}${b.length > 64 ? `... (${b.length} bytes)` : ""}` });
  }
  return cases;
}

function replacer(_k: string, v: unknown) {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string" && v.length > 60) return `${v.slice(0, 40)}...(${v.length} chars)`;
  return v;
}

export const providerMethods = ProviderService.methods;
