import type { IncomingMessage, ServerResponse } from "node:http";
import { originAllowed } from "../graphql/ws";

/** What a preflight allows (the `cors` package's defaults, which /graphql used). */
const ALLOWED_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";
const PREFLIGHT_MAX_AGE_S = "600";

/**
 * CORS for /graphql: an allowed Origin is reflected (with `Vary: Origin`); a preflight (OPTIONS)
 * from one is answered here, 204 allowing the requested headers. A request without an Origin, or
 * from another origin, gets no CORS header at all (an OPTIONS one goes on to Apollo, which refuses
 * the method). True when the request has been answered.
 */
export function answerCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || !originAllowed(origin, allowedOrigins)) return false;
  res.setHeader("access-control-allow-origin", origin);
  if (req.method !== "OPTIONS") {
    res.setHeader("vary", "Origin");
    return false;
  }
  res.setHeader("vary", "Origin, Access-Control-Request-Headers");
  res.setHeader("access-control-allow-methods", ALLOWED_METHODS);
  const requested = req.headers["access-control-request-headers"];
  if (requested) res.setHeader("access-control-allow-headers", requested);
  res.setHeader("access-control-max-age", PREFLIGHT_MAX_AGE_S);
  // Safari waits for a body on a 204 without a length.
  res.writeHead(204, { "content-length": "0" }).end();
  return true;
}
