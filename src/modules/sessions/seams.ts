import type { Origin } from "../../platform/events/unit-of-work";
import type { UserRow } from "../users";
import type { MfaChallenge } from "./session.types";

/** How the user proved who they are (RFC 8176 values): what the gates judge a way in by. */
export type Amr = "pwd" | "otp" | "google";

export interface LoginProof {
  amr: Amr[];
  /** The password hash the password was checked against: a session is made only while it is still the hash. */
  verifiedHash?: string;
}

/** The user as read before the proof was checked; `start` makes the session only if it is still so. */
export type LoginSubject = UserRow & { passwordHash: string | null; deletedAt: Date | null; sessionsEndedAt: Date | null };

/** What the client said about the device it logs in from. */
export interface Device {
  name: string | null;
  fingerprint: string | null;
  rememberMe: boolean;
}

/** Why a gate refused: the `user.login_failed` event's reasons (a new one is added there too). */
export type RefusalReason = "not_active";

/** A gate's refusal: the caller gets the way in's usual failure; the reason is audited. */
export interface LoginRefusal {
  refused: RefusalReason;
}

/**
 * A check every way in passes before a session is made, registered by the module that owns it:
 * null lets the login through, a refusal ends it, a challenge asks for more proof (MFA; the
 * device and origin are the attempt a challenge is bound to).
 */
export interface LoginGate {
  readonly name: string;
  check(user: LoginSubject, proof: LoginProof, origin: Origin, device: Device): Promise<LoginRefusal | MfaChallenge | null>;
}

/** Where the claims in access tokens come from (the authorization module); asked on every issue. */
export interface ClaimsSource {
  claimsOf(userId: string): Promise<{ roles: string[] }>;
}

/** Only an account that may log in gets a session (pending, suspended and deleted ones may not). */
export const activeAccountGate: LoginGate = {
  name: "active-account",
  check: async (user) => (user.status !== "ACTIVE" || user.deletedAt ? { refused: "not_active" } : null),
};
