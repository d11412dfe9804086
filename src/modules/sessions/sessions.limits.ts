import { limit } from "../../platform/ratelimit/limits";
import { HOUR, MINUTE } from "../../shared/time";
import type { SessionSettings } from "./sessions.service";

/** The sessions' limits; product defaults, and the counts set by configuration. */
export function sessionsLimits(settings: Pick<SessionSettings, "loginsPerAddress" | "refreshPerMinute">) {
  return {
    /** Logins per client address, whatever the emails, so that one address cannot fill the hashing queue with made-up ones. */
    loginAddress: limit("login-address", { by: [["ip", settings.loginsPerAddress]], per: 15 * MINUTE }),
    /** 5 logins per 15 minutes per account and IP. */
    login: limit("login", { by: [["account+ip", 5]], per: 15 * MINUTE }),
    /** NIST 800-63B: at most 100 failed attempts per account (per hour here, from any address). */
    loginFailures: limit("login-failures", { by: [["account", 100]], per: HOUR }),
    /** Rotations per session. */
    refresh: limit("refresh", { by: [["session", settings.refreshPerMinute]], per: MINUTE }),
  };
}
