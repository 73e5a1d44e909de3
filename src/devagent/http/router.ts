// A small method + path router. Patterns use ":name" for one path segment and "*name" for the rest of the path
// (Nomad job IDs may contain characters that other segments may not).

import type { RequestContext } from "./request-context.js";
import { methodNotAllowed } from "./http-error.js";

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  methods: string[];
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(methods: string | string[], path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path
      .split("/")
      .map((seg) => {
        if (seg.startsWith(":")) return names.push(seg.slice(1)), "([^/]+)";
        if (seg.startsWith("*")) return names.push(seg.slice(1)), "(.+)";
        return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    this.routes.push({ methods: ([] as string[]).concat(methods), pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler and params for a request; a path match with the wrong method answers 405 like Nomad. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (!r.methods.includes(method)) continue;
      const params: Record<string, string> = {};
      r.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
      return { handler: r.handler, params };
    }
    if (pathMatched) return { handler: () => Promise.reject(methodNotAllowed()), params: {} };
    return undefined;
  }
}
