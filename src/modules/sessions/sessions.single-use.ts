import type { SingleUseFields } from "../../graphql/validation";

/** Root fields that answer one attempt each: aliases must not multiply password or token guesses. */
export const sessionsSingleUseFields = {
  login: "a password attempt",
  refreshTokens: "a refresh token rotation",
} as const satisfies SingleUseFields;
