import { limit } from "../../platform/ratelimit/limits";
import { MINUTE } from "../../shared/time";

/**
 * The OAuth endpoints' limits. Each is spent twice: per client address before anything is read (so
 * made-up credentials are counted too), and per client once it has authenticated (a client id
 * alone cannot spend another client's budget). Answered 429 with `Retry-After` and
 * `{"error":"slow_down"}`.
 */
export const clientsLimits = {
  /** A client needs a token every CLIENT_TOKEN_TTL_S (5 minutes): 60 a minute is room for restarts and many instances. */
  token: limit("oauth-token", { by: [["ip", 120], ["client", 60]], per: MINUTE }),
  /** Resource servers that do not verify tokens themselves ask for each request they serve. */
  introspect: limit("oauth-introspect", { by: [["ip", 3000], ["client", 3000]], per: MINUTE }),
};
