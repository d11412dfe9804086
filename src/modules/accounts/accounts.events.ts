import { z } from "zod";
import { emailAddress } from "../../shared/email";
import type { EventCatalogue } from "../../platform/events/catalogue";

/** Events of registration, verification, profiles and passwords. */
export const accountsEvents = {
  "user.registered": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "An account is created by registration (its email not yet verified).",
    payload: z.object({ email: emailAddress, locale: z.string().max(35) }).strict(),
  },
  "user.email_verified": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "The user proves ownership of their email address; status PENDING_VERIFICATION -> ACTIVE.",
    payload: z.object({ email: emailAddress }).strict(),
  },
  "password.changed": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "The user changes their password (current password given).",
    payload: z.object({ otherSessionsEnded: z.number().int().min(0) }).strict(),
  },
  "password.reset_requested": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A reset link is sent to an existing account.",
    payload: z.object({ expiresAt: z.iso.datetime() }).strict(),
  },
  "password.reset_completed": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A password is set with a reset link; every session ends.",
    payload: z.object({ sessionsEnded: z.number().int().min(0) }).strict(),
  },
  "user.updated": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "The user changes their profile or preferences; lists the fields that changed (not their values).",
    payload: z.object({ fields: z.array(z.enum(["name", "avatarUrl", "phone", "locale", "timezone", "preferredCurrency"])) }).strict(),
  },
} as const satisfies EventCatalogue;
