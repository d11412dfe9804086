import type { SingleUseFields } from "../../graphql/validation";

/** Root fields that answer one attempt each: aliases must not multiply token guesses. */
export const accountsSingleUseFields = {
  resetPassword: "a reset token attempt",
  verifyEmail: "a verification token attempt",
} as const satisfies SingleUseFields;
