// The releases family: Deploy (rolling, canary, blue/green), PromoteDeployment, FailDeployment and Rollback.

import type { RpcFamily } from "./provider-service.js";
import { forCall } from "./provider-deps.js";
import { deploy } from "./deploy.js";
import { fail, promote } from "./deployment-control.js";
import { rollback } from "./rollback.js";

export const releasesFamily: RpcFamily = {
  capabilities: ["deploy", "strategy:rolling", "strategy:canary", "strategy:blue-green", "dry-run:deploy"],
  handlers: (deps) => {
    const d = { ...deps, log: deps.log.child("releases") };
    return {
      deploy: (req, ctx) => deploy(forCall(d, ctx), req, ctx),
      promoteDeployment: (req, ctx) => promote(forCall(d, ctx), req, ctx),
      failDeployment: (req, ctx) => fail(forCall(d, ctx), req, ctx),
      rollback: (req, ctx) => rollback(forCall(d, ctx), req, ctx),
    };
  },
};
