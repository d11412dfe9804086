import type { SingleUseFields } from "../../graphql/validation";

/** Root fields that answer one second-factor attempt each: aliases must not multiply code guesses. */
export const mfaSingleUseFields = {
  completeMfaLogin: "a second-factor attempt of a login",
  stepUp: "a second-factor attempt of a step-up",
} as const satisfies SingleUseFields;
