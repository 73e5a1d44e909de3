// The releases family: Deploy (rolling, canary, blue/green), PromoteDeployment, FailDeployment and Rollback.

import type { RpcFamily } from "./provider-service.js";
import { deploy } from "./deploy.js";
import { fail, promote } from "./deployment-control.js";
import { rollback } from "./rollback.js";

export const releasesFamily: RpcFamily = {
  capabilities: ["deploy", "strategy:rolling", "strategy:canary", "strategy:blue-green"],
  handlers: (deps) => {
    const d = { ...deps, log: deps.log.child("releases") };
    return {
      deploy: (req, ctx) => deploy(d, req, ctx),
      promoteDeployment: (req, ctx) => promote(d, req, ctx),
      failDeployment: (req, ctx) => fail(d, req, ctx),
      rollback: (req, ctx) => rollback(d, req, ctx),
    };
  },
};
