import { z } from "zod";
import { emailAddress } from "../../shared/email";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * Every domain event this service publishes: type (dotted, lowercase), version, aggregate, payload
 * schema and when it is emitted. Publishing is checked against it at compile time (the payload type)
 * and at run time (the schema). A changed payload is a new version: add an entry, keep the old one
 * while consumers migrate. README.md's event list is rendered from here (a test keeps it in step).
 */
export const eventCatalogue = {
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
    emittedWhen: "A session ends: logout, revocation by its user, token reuse, or a password change or reset.",
    payload: z.object({ userId: z.uuid(), reason: z.enum(["logout", "logout_all", "revoked", "token_reuse", "password_changed", "password_reset"]) }).strict(),
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
  "audit.checkpoint": {
    version: 1,
    aggregateType: "audit_chain",
    emittedWhen: "The audit chain's head is signed (every AUDIT_CHECKPOINT_EVERY records); keep the latest: `audit:verify --published <seq>:<hash>` checks the chain still reaches it.",
    payload: z.object({ seq: z.number().int().positive(), hash: sha256Hex, keyId: z.string().max(64), signature: sha256Hex }).strict(),
  },
} as const;

export type EventType = keyof typeof eventCatalogue;
export type EventPayload<T extends EventType> = z.infer<(typeof eventCatalogue)[T]["payload"]>;

/** The envelope of every event on `user-events` (job data), as the contract describes it. */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurredAt: string;
  aggregateType: string;
  aggregateId: string;
  actorId: string | null;
  data: EventPayload<T>;
}

export class InvalidEventError extends Error {
  override name = "InvalidEventError";
}

/** Validates a payload against its catalogue entry; throws InvalidEventError naming the problems. */
export function validatePayload<T extends EventType>(type: T, data: unknown): EventPayload<T> {
  const entry = eventCatalogue[type];
  if (!entry) throw new InvalidEventError(`Unknown event type "${String(type)}"`);
  const result = entry.payload.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(payload)"}: ${issue.message}`).join("; ");
    throw new InvalidEventError(`Invalid payload for ${type} v${entry.version}: ${problems}`);
  }
  return result.data as EventPayload<T>;
}

/** Markdown listing every event, its version, aggregate, payload fields and when it is emitted. */
export function renderCatalogue(): string {
  const lines = ["| Event | Version | Aggregate | Payload (`data`) | Emitted when |", "| --- | --- | --- | --- | --- |"];
  for (const [type, entry] of Object.entries(eventCatalogue)) {
    const schema = z.toJSONSchema(entry.payload) as { properties?: Record<string, { type?: string; format?: string }>; required?: string[] };
    const fields = Object.entries(schema.properties ?? {})
      .map(([name, p]) => `\`${name}${schema.required?.includes(name) ? "" : "?"}: ${p.format ?? p.type ?? "json"}\``)
      .join(", ");
    lines.push(`| \`${type}\` | ${entry.version} | ${entry.aggregateType} | ${fields} | ${entry.emittedWhen} |`);
  }
  return lines.join("\n");
}
