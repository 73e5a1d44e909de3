// What route handlers share: the store, the job and scheduler layers, and the agent's identity.
import type { ClientEndpoints } from "../alloc-runtime.js";
import type { AclTokenJson } from "../acl.js";
import type { Faults } from "../faults.js";
import type { JobService } from "../jobs/job-service.js";
import type { NodeInfo } from "../sched/alloc-factory.js";
import type { NodeCapacity } from "../sched/feasibility.js";
import type { Scheduler } from "../sched/scheduler.js";
import type { StateStore } from "../state/state-store.js";

export interface RouteDeps {
  store: StateStore;
  jobs: JobService;
  scheduler: Scheduler;
  faults: Faults;
  clientEndpoints: ClientEndpoints;
  node: NodeInfo & NodeCapacity;
  region: string;
  address: () => string;
  acl: boolean;
  /** GET /v1/acl/token/self for a secret (throws Nomad's HttpError when ACLs are off or the token is unknown). */
  tokenSelf: (token: string) => AclTokenJson;
  /** The namespaces that exist ("default" and those configured). */
  namespaces: ReadonlySet<string>;
  version: string;
}
