import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import { httpError } from "./http-error";

export interface RouterGate {
  /** Whether the request carries the router secret (always, when none is configured). */
  admits(request: IncomingMessage): boolean;
  /** 401 for a request the router did not send. */
  middleware: RequestHandler;
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
  return {
    admits,
    middleware: (req, res, next) => {
      if (admits(req)) return next();
      res.status(401).json(httpError("UNAUTHENTICATED", "This subgraph answers the router only"));
    },
  };
}
