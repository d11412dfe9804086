import type { Clock } from "../../platform/clock";
import { SingleUseTokens } from "../../shared/single-use-tokens";

export type AccountTokenPurpose = "email-verification" | "password-reset";

/** The accounts' single-use tokens: email verification and password reset. */
export function accountTokens(clock: Clock) {
  return new SingleUseTokens<AccountTokenPurpose>(clock);
}
