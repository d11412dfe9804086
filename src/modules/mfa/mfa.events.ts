import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";

const secondFactor = z.enum(["totp", "backup_code"]);

/** Events of the second factor. None carries a secret, a code or a backup code. */
export const mfaEvents = {
  "mfa.enabled": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user turns TOTP on (a code confirmed the pending secret; backup codes were issued).",
    payload: z.object({ method: z.literal("totp"), backupCodes: z.number().int() }).strict(),
  },
  "mfa.disabled": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user turns TOTP off (with the password and a code); the secret and backup codes are deleted.",
    payload: z.object({ method: z.literal("totp") }).strict(),
  },
  "mfa.backup_codes_regenerated": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user replaces their backup codes (with a code); every old one stops working.",
    payload: z.object({ backupCodes: z.number().int() }).strict(),
  },
  "mfa.challenge_failed": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A login whose password was right fails its second factor (a wrong or replayed code).",
    payload: z.object({ reason: z.enum(["wrong_code", "code_reused"]) }).strict(),
  },
  "mfa.code_reused": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A second-factor code already accepted is presented again (a TOTP code of a spent time step, or a used backup code); refused.",
    payload: z.object({ factor: secondFactor, during: z.enum(["login", "step_up", "disable", "regenerate_backup_codes"]) }).strict(),
  },
} as const satisfies EventCatalogue;
