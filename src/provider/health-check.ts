// HealthCheck: probes Nomad and reports, never throws, about Nomad's state: an unreachable or unhealthy Nomad is
// healthy=false with the reason. Only the caller's own cancel or deadline ends the call with an error.
//
// Reachable is not enough: with ACLs on, a wrong or missing token makes every later call fail, and so does a
// namespace or region that does not exist. So four reads go out at once (agent health, the token, the namespace,
// the region list), bounded by the call's deadline and at most healthBudgetMs, and every problem found is named in
// the message. A check that could not be made because another one failed (a refused token cannot read the
// namespace; an unknown region answers nothing) says so in its component, and only the root cause is in the message.

import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ProviderError } from "../errors.js";
import { readAgentHealth, type AgentHealth } from "../nomad/agent.js";
import { readTokenSelf, type TokenVerdict } from "../nomad/acl-token.js";
import { readNamespace, type NamespaceVerdict } from "../nomad/namespaces.js";
import { listRegions } from "../nomad/regions.js";
import { linkedSignal } from "../trace-context.js";
import type { ComponentHealthSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { forCall, type ProviderDeps } from "./provider-deps.js";
import type { RpcFamily } from "./provider-service.js";
import { cacheHealth, startedInstanceCache } from "./instance-cache.js";

type Component = MessageInitShape<typeof ComponentHealthSchema>;

/** A HealthCheck without a deadline still answers within this. */
export const healthBudgetMs = 10_000;

const tokenHint = "set CP_NOMAD_TOKEN or NOMAD_TOKEN";

export const healthCheckFamily: RpcFamily = {
  capabilities: [],
  handlers: (deps) => ({
    async healthCheck(_req, ctx) {
      const checkedAt = new Date();
      const started = performance.now();
      const signal = linkedSignal([ctx.signal, AbortSignal.timeout(healthBudgetMs)]);
      const components = await probe(forCall(deps, ctx), signal);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // The Status cache, once something started it: shown, never a reason to call Nomad unhealthy.
      const cache = startedInstanceCache(deps.nomad);
      if (cache) components.push(cacheHealth(cache));
      const latency = durationFromMs(Math.round(performance.now() - started));
      const causes = components.filter((c) => !c.healthy && !c.consequence);
      return {
        healthy: components.every((c) => c.healthy),
        message: causes.length === 0 ? `nomad at ${deps.nomad.address.origin} is healthy` : causes.map((c) => `${c.name}: ${c.message}`).join("; "),
        latency,
        checkedAt: timestampFromDate(checkedAt),
        components: components.map(({ consequence: _, ...c }) => c),
      };
    },
  }),
};

/** A component, and whether its failure only follows from another's (then it stays out of the message). */
type Checked = Component & { consequence?: boolean };

async function probe(deps: ProviderDeps, signal: AbortSignal): Promise<Checked[]> {
  const { nomad } = deps;
  const region = nomad.region || undefined;
  const [health, token, namespace, regions] = await Promise.allSettled([
    readAgentHealth(nomad, signal),
    readTokenSelf(nomad, signal),
    readNamespace(nomad, nomad.namespace, signal),
    listRegions(nomad, signal),
  ]);
  if (health.status === "rejected") {
    const reason = failure(health.reason, signal);
    deps.log.debug("nomad health probe failed", { error: reason });
    return [{ name: "api", healthy: false, message: reason }];
  }
  const regionCheck = checkRegion(region, regions, signal);
  const regionUnknown = !regionCheck.healthy;
  const tokenCheck = regionUnknown ? notChecked("acl", region) : checkToken(token, nomad.hasToken, signal);
  const namespaceCheck = regionUnknown
    ? notChecked("namespace", region)
    : checkNamespace(nomad.namespace, region, namespace, !tokenCheck.healthy, signal);
  return [...describeAgent(health.value), tokenCheck, namespaceCheck, regionCheck];
}

function describeAgent(health: AgentHealth): Checked[] {
  const components: Checked[] = [{ name: "api", healthy: true, message: `reachable (HTTP ${health.status})` }];
  if (health.error !== undefined) components.push({ name: "agent", healthy: false, message: health.error });
  for (const name of ["client", "server"] as const) {
    const c = health[name];
    if (c) components.push({ name, healthy: c.ok, message: c.message || (c.ok ? "ok" : "unhealthy") });
  }
  // A 500 that named no unhealthy half is still a failure the user must see.
  if (health.status !== 200 && components.every((c) => c.healthy)) {
    components.push({ name: "agent", healthy: false, message: `agent health answered HTTP ${health.status}` });
  }
  return components;
}

function checkToken(result: PromiseSettledResult<TokenVerdict>, hasToken: boolean, signal: AbortSignal): Checked {
  if (result.status === "rejected") return { name: "acl", healthy: false, message: failure(result.reason, signal) };
  const v = result.value;
  switch (v.kind) {
    case "acls-disabled":
      return { name: "acl", healthy: true, message: "ACLs are disabled on Nomad" };
    case "accepted":
      return { name: "acl", healthy: true, message: `token ${JSON.stringify(v.name)} (${v.type || "unknown type"}) accepted` };
    case "anonymous":
      return { name: "acl", healthy: false, message: `no ACL token is configured but Nomad has ACLs enabled (calls run as Nomad's anonymous token); ${tokenHint}` };
    case "refused":
      return {
        name: "acl",
        healthy: false,
        message: hasToken
          ? `Nomad does not accept the configured ACL token (${v.reason}); check CP_NOMAD_TOKEN / NOMAD_TOKEN`
          : `no ACL token is configured but Nomad has ACLs enabled (${v.reason}); ${tokenHint}`,
      };
    case "unexpected":
      return { name: "acl", healthy: false, message: `could not check the ACL token: HTTP ${v.status}: ${v.reason}` };
  }
}

function checkNamespace(
  name: string,
  region: string | undefined,
  result: PromiseSettledResult<NamespaceVerdict>,
  tokenRefused: boolean,
  signal: AbortSignal,
): Checked {
  if (result.status === "rejected") return { name: "namespace", healthy: false, message: failure(result.reason, signal) };
  const v = result.value;
  const where = region ? ` in region ${region}` : "";
  switch (v.kind) {
    case "exists":
      return { name: "namespace", healthy: true, message: `${JSON.stringify(name)} exists` };
    case "missing":
      return { name: "namespace", healthy: false, message: `namespace ${JSON.stringify(name)} does not exist${where} (${v.reason})` };
    case "denied":
      return tokenRefused
        ? { name: "namespace", healthy: false, consequence: true, message: `not checked: Nomad refused the token (${v.reason})` }
        : { name: "namespace", healthy: false, message: `the ACL token has no capability in namespace ${JSON.stringify(name)} (${v.reason})` };
    case "unexpected":
      return { name: "namespace", healthy: false, message: `could not check namespace ${JSON.stringify(name)}: HTTP ${v.status}: ${v.reason}` };
  }
}

function checkRegion(region: string | undefined, result: PromiseSettledResult<string[]>, signal: AbortSignal): Checked {
  if (result.status === "rejected") return { name: "region", healthy: false, message: failure(result.reason, signal) };
  const known = result.value;
  const list = known.length > 0 ? known.join(", ") : "none";
  if (region === undefined) return { name: "region", healthy: true, message: `none configured: the agent's own region applies (known: ${list})` };
  if (known.includes(region)) return { name: "region", healthy: true, message: `${JSON.stringify(region)} is known` };
  return { name: "region", healthy: false, message: `region ${JSON.stringify(region)} is not one of Nomad's regions (${list})` };
}

function notChecked(name: string, region: string | undefined): Checked {
  return { name, healthy: false, consequence: true, message: `not checked: region ${JSON.stringify(region)} is unknown` };
}

/** Why a read failed, in words; the budget running out is said as such. */
function failure(err: unknown, signal: AbortSignal): string {
  if (signal.aborted && !(err instanceof ProviderError && err.code !== Code.DeadlineExceeded && err.code !== Code.Canceled)) {
    return `no answer within ${healthBudgetMs / 1000} s`;
  }
  return ProviderError.from(err).message;
}
