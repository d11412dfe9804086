import { limit } from "../../platform/ratelimit/limits";
import { MINUTE } from "../../shared/time";

/** The MFA module's limits (SECURITY 26). */
export const mfaLimits = {
  /**
   * Second-factor attempts per account, from every request, alias and challenge: each is counted
   * before it is judged and given back when it succeeds, so 5 wrong codes start a cooldown (the rest
   * of the 15 minutes) in which even the right code is refused.
   */
  guesses: limit("mfa-guesses", { by: [["user", 5]], per: 15 * MINUTE }),
};
