// grpc.health.v1.Health over a small status table. go-plugin hosts poll service "plugin"; "" is the whole server.
// Shutdown flips everything to NOT_SERVING so watchers learn of it before the connection goes.

import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { Code, ProviderError } from "../errors.js";
import type { ServiceImpl } from "./service-impl.js";

export { Serving };

export class HealthStatus {
  readonly #statuses = new Map<string, Serving>();
  readonly #changes = new EventTarget();

  constructor(services: readonly string[]) {
    for (const s of services) this.#statuses.set(s, Serving.SERVING);
  }

  get(service: string): Serving | undefined {
    return this.#statuses.get(service);
  }

  set(service: string, status: Serving): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    this.#changes.dispatchEvent(new Event("change"));
  }

  /** Marks every service NOT_SERVING (shutdown). */
  stopServing(): void {
    for (const s of this.#statuses.keys()) this.set(s, Serving.NOT_SERVING);
  }

  /** Resolves at the next change or when the signal aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#changes.removeEventListener("change", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#changes.addEventListener("change", done);
      signal.addEventListener("abort", done);
      if (signal.aborted) done();
    });
  }
}

export function healthService(health: HealthStatus): ServiceImpl<typeof Health> {
  return {
    async check(req) {
      const status = health.get(req.service);
      if (status === undefined) throw new ProviderError(Code.NotFound, `unknown service "${req.service}"`);
      return { status };
    },
    async *watch(req, ctx) {
      let last: Serving | undefined;
      while (!ctx.signal.aborted) {
        const status = health.get(req.service) ?? Serving.SERVICE_UNKNOWN;
        if (status !== last) yield { status };
        last = status;
        await health.changed(ctx.signal);
      }
    },
  };
}
