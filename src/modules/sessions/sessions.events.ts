import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";

/** Events of logins and sessions. */
export const sessionsEvents = {
  "user.logged_in": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A password login succeeds and a session is created.",
    payload: z.object({ sessionId: z.uuid(), newDevice: z.boolean() }).strict(),
  },
  "user.login_failed": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A password login for an existing account fails (wrong password, or the account cannot log in).",
    payload: z.object({ reason: z.enum(["bad_password", "not_active"]) }).strict(),
  },
  "session.created": {
    version: 1,
    aggregateType: "session",
    emittedWhen: "A session starts on a device (login).",
    payload: z.object({ userId: z.uuid(), deviceName: z.string().max(100).nullable(), rememberMe: z.boolean() }).strict(),
  },
  "session.revoked": {
    version: 1,
    aggregateType: "session",
    emittedWhen: "A session ends: logout, revocation by its user, token reuse, a password change or reset, or the account's suspension.",
    payload: z.object({ userId: z.uuid(), reason: z.enum(["logout", "logout_all", "revoked", "token_reuse", "password_changed", "password_reset", "account_suspended"]) }).strict(),
  },
  "session.token_reuse_detected": {
    version: 1,
    aggregateType: "session",
    emittedWhen: "An already-rotated refresh token is presented again; the whole session is revoked.",
    payload: z.object({ userId: z.uuid() }).strict(),
  },
  "user.logged_out": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "The user logs out of one session or of all devices.",
    payload: z.object({ sessionIds: z.array(z.uuid()), allDevices: z.boolean() }).strict(),
  },
} as const satisfies EventCatalogue;
