// ACLs of the dev agent: off, or on with a single management token (printed at start). With ACLs on, anonymous
// requests get Nomad's anonymous policy (deny), unknown tokens "ACL token not found"; both 403 as plain text.

import { randomUUID, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http/http-error.js";

/** Endpoints Nomad serves without any ACL capability. */
const open = [/^\/v1\/agent\/health$/, /^\/v1\/status\//, /^\/v1\/regions$/];

export class Acl {
  readonly managementToken: string | undefined;

  constructor(enabled: boolean) {
    this.managementToken = enabled ? randomUUID() : undefined;
  }

  get enabled(): boolean {
    return this.managementToken !== undefined;
  }

  /** Throws 403 unless the token may call this path. */
  check(path: string, token: string): void {
    if (!this.managementToken || open.some((re) => re.test(path))) return;
    if (!token) throw new HttpError(403, "Permission denied");
    const a = Buffer.from(token);
    const b = Buffer.from(this.managementToken);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(403, "ACL token not found");
  }
}
