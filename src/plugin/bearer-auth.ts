// Standalone mode's optional shared secret: "authorization: Bearer <token>" on every ProviderService call.
// Both sides are hashed before the constant-time compare so neither the value nor its length leaks through timing.

import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ProviderError } from "../errors.js";
import type { CallContext } from "../grpc/service-impl.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function bearerAuth(token: string): (ctx: CallContext) => void {
  const expected = digest(token);
  return (ctx) => {
    const header = ctx.metadata.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new ProviderError(Code.Unauthenticated, 'missing or wrong "authorization: Bearer <token>" metadata');
    }
  };
}
