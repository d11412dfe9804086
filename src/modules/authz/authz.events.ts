import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";

const byWhom = { by: z.uuid().nullable() };

/** Events of roles, grants and policies. */
export const authzEvents = {
  "role.assigned": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A role is given to a user (registration gives trader).",
    payload: z.object({ role: z.string(), ...byWhom }).strict(),
  },
  "role.removed": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A role is taken from a user.",
    payload: z.object({ role: z.string(), ...byWhom }).strict(),
  },
  "permission.granted": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A permission is granted to a user directly, until expiresAt (null: until revoked).",
    payload: z.object({ grantId: z.uuid(), permission: z.string(), expiresAt: z.iso.datetime().nullable(), ...byWhom }).strict(),
  },
  "permission.revoked": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A direct grant is revoked.",
    payload: z.object({ grantId: z.uuid(), permission: z.string(), ...byWhom }).strict(),
  },
  "policy.created": {
    version: 1,
    aggregateType: "policy",
    emittedWhen: "An authorization policy is created (it applies at once on every instance).",
    payload: z.object({ name: z.string(), effect: z.enum(["ALLOW", "DENY"]), ...byWhom }).strict(),
  },
  "policy.deleted": {
    version: 1,
    aggregateType: "policy",
    emittedWhen: "An authorization policy is deleted.",
    payload: z.object({ name: z.string(), ...byWhom }).strict(),
  },
} as const satisfies EventCatalogue;
