// ACLs of the dev agent: off, or on with a management token (printed at start) and scoped tokens holding namespace
// capabilities (Nomad's namespace policy capabilities, granted in every namespace). Each route needs one of a set of
// capabilities (`routeCapabilities`, first match wins; a route not listed needs the management token). Anonymous
// requests get Nomad's anonymous policy (deny): "Permission denied"; unknown tokens "ACL token not found".
//
// How the refusal arrives follows Nomad 1.6-1.9: plain-text 403 from the HTTP wrapper for ordinary endpoints, but 500
// with the same text from the streaming endpoints (fs/logs and fs/stream send ErrPermissionDenied with no code; the
// event stream's subscription check answers 500 until 1.9.6).

import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http/http-error.js";

/** Endpoints Nomad serves without any ACL capability. /v1/acl/token/self needs none: knowing the secret is the
 *  proof (Nomad 1.6's ACL.ResolveToken checks no capability). */
const open = [/^\/v1\/agent\/health$/, /^\/v1\/status\//, /^\/v1\/regions$/, /^\/v1\/acl\/token\/self$/];

/** A token as Nomad 1.6 answers it from /v1/acl/token/self (structs.ACLToken, encoded by the agent). */
export interface AclTokenJson {
  AccessorID: string;
  SecretID: string;
  Name: string;
  Type: "management" | "client";
  Policies: string[] | null;
  Roles: unknown[] | null;
  Global: boolean;
  Hash: string;
  CreateTime: string;
  ExpirationTime: string | null;
  ExpirationTTL: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export type Capability =
  | "list-jobs"
  | "read-job"
  | "submit-job"
  | "scale-job"
  | "read-job-scaling"
  | "read-logs"
  | "read-fs"
  | "alloc-exec"
  | "alloc-lifecycle";

/** Nomad's namespace policy "read" expanded (the capabilities this agent knows of). */
export const readPolicy: readonly Capability[] = ["list-jobs", "read-job", "read-job-scaling"];

export interface RouteCapability {
  methods?: readonly string[];
  path: RegExp;
  /** Any one of these grants the call; empty: any valid token. */
  anyOf: readonly Capability[];
  /** Refusals answer 500 (Nomad's streaming endpoints) instead of 403. */
  stream?: boolean;
}

const writes = ["PUT", "POST", "DELETE"];

/** The capability each route needs (first match wins). Routes added later list themselves here. */
export const routeCapabilities: RouteCapability[] = [
  { path: /^\/v1\/client\/fs\/logs\//, anyOf: ["read-logs", "read-fs"], stream: true },
  { path: /^\/v1\/client\/fs\/stream\//, anyOf: ["read-fs"], stream: true },
  { path: /^\/v1\/client\/fs\/(ls|stat|cat|readat)\//, anyOf: ["read-fs"] },
  { path: /^\/v1\/client\/allocation\/[^/]+\/exec$/, anyOf: ["alloc-exec"] },
  { path: /^\/v1\/client\/allocation\/[^/]+\/(restart|signal)$/, anyOf: ["alloc-lifecycle"] },
  { path: /^\/v1\/client\/allocation\/[^/]+\/stats$/, anyOf: ["read-job"] },
  // The plugin's topics (Job, Allocation, Deployment) need read-job.
  { path: /^\/v1\/event\/stream$/, anyOf: ["read-job"], stream: true },
  { methods: ["GET"], path: /^\/v1\/jobs$/, anyOf: ["list-jobs"] },
  { methods: writes, path: /^\/v1\/jobs$/, anyOf: ["submit-job"] },
  { methods: writes, path: /^\/v1\/validate\/job$/, anyOf: ["read-job"] },
  { methods: writes, path: /^\/v1\/job\/[^/]+\/scale$/, anyOf: ["scale-job", "submit-job"] },
  { methods: ["GET"], path: /^\/v1\/job\/[^/]+\/scale$/, anyOf: ["read-job-scaling", "read-job"] },
  { methods: ["GET"], path: /^\/v1\/job\//, anyOf: ["read-job"] },
  { methods: writes, path: /^\/v1\/job\//, anyOf: ["submit-job"] },
  { methods: ["GET"], path: /^\/v1\/(allocations|allocation\/|evaluations|evaluation\/|deployments|deployment\/)/, anyOf: ["read-job"] },
  { methods: writes, path: /^\/v1\/allocation\/[^/]+\/stop$/, anyOf: ["alloc-lifecycle"] },
  { methods: writes, path: /^\/v1\/deployment\//, anyOf: ["submit-job"] },
  { methods: ["GET"], path: /^\/v1\/namespaces$/, anyOf: [] },
  // Nomad lets a token read a namespace it holds any capability in; scoped tokens here hold theirs in every namespace.
  { methods: ["GET"], path: /^\/v1\/namespace\/[^/]+$/, anyOf: [] },
  // Not listed, so management only, as System.GarbageCollect and System.ReconcileJobSummaries want: /v1/system/*.
];

/**
 * Scoped tokens every ACL-enabled agent offers besides the management token (tests use them by name):
 *  - "read":        the namespace read policy (jobs, allocations, deployments; no logs, no files)
 *  - "read-logs":   read + read-logs, without read-fs (logs yes, fs/ls no)
 *  - "no-read-job": list-jobs, read-logs, read-fs, without read-job
 */
export const defaultScopedTokens: Record<string, readonly Capability[]> = {
  read: readPolicy,
  "read-logs": [...readPolicy, "read-logs"],
  "no-read-job": ["list-jobs", "read-logs", "read-fs"],
};

export class Acl {
  readonly managementToken: string | undefined;
  /** Scoped token secrets by name. */
  readonly tokens: Record<string, string> = {};
  readonly #capabilities = new Map<string, ReadonlySet<Capability>>();
  /** /v1/acl/token/self answers by secret. */
  readonly #tokenJson = new Map<string, AclTokenJson>();

  constructor(enabled: boolean, scoped: Record<string, readonly Capability[]> = defaultScopedTokens) {
    this.managementToken = enabled ? randomUUID() : undefined;
    if (!this.managementToken) return;
    // What `nomad acl bootstrap` creates.
    this.#tokenJson.set(this.managementToken, tokenJson(this.managementToken, "Bootstrap Token", "management", null));
    for (const [name, caps] of Object.entries(scoped)) {
      const secret = randomUUID();
      this.tokens[name] = secret;
      this.#capabilities.set(secret, new Set(caps));
      this.#tokenJson.set(secret, tokenJson(secret, name, "client", [name]));
    }
  }

  /**
   * GET /v1/acl/token/self as Nomad 1.6 answers it (command/agent/acl_endpoint.go aclTokenSelf, ACL.ResolveToken):
   * ACLs off is 400 "ACL support disabled"; an unknown or missing secret 404 "ACL token not found".
   */
  tokenSelf(token: string): AclTokenJson {
    if (!this.managementToken) throw new HttpError(400, "ACL support disabled");
    for (const [secret, json] of this.#tokenJson) if (token && sameSecret(token, secret)) return json;
    throw new HttpError(404, "ACL token not found");
  }

  get enabled(): boolean {
    return this.managementToken !== undefined;
  }

  /** Throws Nomad's refusal unless the token may make this call. */
  check(method: string, path: string, token: string): void {
    if (!this.managementToken || open.some((re) => re.test(path))) return;
    const rule = routeCapabilities.find((r) => (!r.methods || r.methods.includes(method)) && r.path.test(path));
    const status = rule?.stream ? 500 : 403;
    if (!token) throw new HttpError(status, "Permission denied");
    if (sameSecret(token, this.managementToken)) return;
    const caps = this.#scopedCapabilities(token);
    if (!caps) throw new HttpError(status, "ACL token not found");
    if (!rule || (rule.anyOf.length > 0 && !rule.anyOf.some((c) => caps.has(c)))) throw new HttpError(status, "Permission denied");
  }

  #scopedCapabilities(token: string): ReadonlySet<Capability> | undefined {
    for (const [secret, caps] of this.#capabilities) if (sameSecret(token, secret)) return caps;
    return undefined;
  }
}

function tokenJson(secret: string, name: string, type: AclTokenJson["Type"], policies: string[] | null): AclTokenJson {
  return {
    AccessorID: randomUUID(),
    SecretID: secret,
    Name: name,
    Type: type,
    Policies: policies,
    Roles: null,
    Global: type === "management",
    Hash: createHash("sha256").update(secret).digest("base64"),
    CreateTime: new Date().toISOString(),
    ExpirationTime: null,
    ExpirationTTL: 0,
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
