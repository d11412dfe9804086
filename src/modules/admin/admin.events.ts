import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";

/** Events of account administration. The suspension's reason stays in the audit trail. */
export const adminEvents = {
  "user.suspended": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "An administrator suspends an account: it may not log in or refresh, and every session has ended.",
    payload: z.object({ sessionsEnded: z.number().int(), by: z.uuid() }).strict(),
  },
  "user.reactivated": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "An administrator lifts a suspension: the account is ACTIVE again (PENDING_VERIFICATION while its email is unverified).",
    payload: z.object({ status: z.enum(["ACTIVE", "PENDING_VERIFICATION"]), by: z.uuid() }).strict(),
  },
} as const satisfies EventCatalogue;
