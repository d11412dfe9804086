import type { Clock } from "../../platform/clock";
import { SingleUseTokens } from "../../shared/single-use-tokens";

/** The accounts' single-use tokens, by purpose: the table each is kept in. */
export function accountTokens(clock: Clock) {
  return new SingleUseTokens(clock, { "email-verification": "email_verification_tokens", "password-reset": "password_reset_tokens" });
}
