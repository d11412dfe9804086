import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface RouterGate {
  /** Whether the request carries the router secret (always, when none is configured). */
  admits(request: IncomingMessage): boolean;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Only the router reaches the subgraph (SECURITY 42): with `ROUTER_SECRET` set, a request must
 * carry it in `ROUTER_SECRET_HEADER`. Compared in constant time (digests of equal length), so the
 * answer's timing tells nothing about the secret.
 */
export function routerGate(config: { ROUTER_SECRET: string | null; ROUTER_SECRET_HEADER: string }): RouterGate {
  const secret = config.ROUTER_SECRET === null ? null : digest(config.ROUTER_SECRET);
  const admits = (request: IncomingMessage) => {
    if (!secret) return true;
    const given = request.headers[config.ROUTER_SECRET_HEADER];
    return typeof given === "string" && timingSafeEqual(digest(given), secret);
  };
  return { admits };
}
