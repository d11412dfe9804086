import { randomUUID } from "node:crypto";
import { BadUserInputError, NotFoundError, UnauthenticatedError } from "../../shared/errors";
import type { Viewer } from "../../graphql/context";
import { BCRYPT_MAX_BYTES, type PasswordHasher } from "../../platform/crypto/passwords";
import { TOKEN_SHAPE, hashToken, newOpaqueToken } from "../../platform/crypto/tokens";
import { empty, sql, type Tx } from "../../platform/db/database";
import type { Origin, WorkEffects } from "../../platform/events/unit-of-work";
import type { AccessTokens } from "../../platform/jwt/access-tokens";
import type { Kernel } from "../module";
import { InputCheck } from "../../shared/input-check";
import { emailKeyOf } from "../../shared/email";
import { USER_ROW_COLUMNS, privateUser, type User, type UserRow } from "../users";
import type { SessionRevocations } from "./revocations";
import { sessionsLimits } from "./sessions.limits";
import type { ClaimsSource, Device, LoginGate, LoginProof, LoginSubject, RefusalReason } from "./seams";
import type { AccessTokenPayload, AuthPayload, LoginInput, MfaChallenge, SessionInfo } from "./session.types";

const LOGIN_FAILED = "Invalid email or password";
/** Made only when refused (an error captures its stack). */
const refreshDenied = () => new UnauthenticatedError("Invalid or expired refresh token");

export interface SessionSettings {
  refreshIdleMs: number;
  sessionMs: number;
  rememberMeSessionMs: number;
  /** Rotations allowed per session per minute. */
  refreshPerMinute: number;
  /** A spent token presented again this soon after its rotation lost a race (two tabs): refused, not reuse. */
  reuseGraceMs: number;
  /** Logins per client address per 15 minutes, whatever the email. */
  loginsPerAddress: number;
}

type SessionFields = Pick<NonNullable<Awaited<ReturnType<Tx["session"]["findUnique"]>>>, "id" | "deviceName" | "userAgent" | "ipAddress" | "country" | "createdAt" | "lastActiveAt" | "expiresAt">;
/** What an access token says of its session: how and when the user authenticated. */
type SessionProof = Pick<NonNullable<Awaited<ReturnType<Tx["session"]["findUnique"]>>>, "id" | "amr" | "createdAt" | "secondFactorAt">;

/** The rotation statement's row (none when nothing was spent): the live session the token was rotated in, null columns when it has ended. */
type RotationRow = { [K in keyof (SessionFields & SessionProof)]: (SessionFields & SessionProof)[K] | null } & { userId: string | null };

export function toSessionInfo(session: SessionFields, currentSessionId: string | null): SessionInfo {
  return {
    id: session.id,
    deviceName: session.deviceName,
    userAgent: session.userAgent,
    ipAddress: session.ipAddress,
    country: session.country,
    createdAt: session.createdAt,
    lastActiveAt: session.lastActiveAt,
    expiresAt: session.expiresAt,
    current: session.id === currentSessionId,
  };
}

export type EndReason = "logout" | "logout_all" | "revoked" | "password_changed" | "password_reset" | "account_suspended";

/**
 * Ends a user's live sessions (all, or all but `except`, or only `only`) inside a unit of work and
 * publishes `session.revoked` for each; returns their ids (mark them revoked after commit).
 */
export async function endSessions(scope: WorkEffects, userId: string, reason: EndReason, filter: { only?: string; except?: string }, now: Date): Promise<string[]> {
  // Ending every session (but the caller's) marks the user too, under its row lock, a value that
  // only grows: a login that read the user before marking it creates no session, and one that
  // locked the user first commits its session before the update below, which then ends it.
  if (!filter.only) await scope.query(sql`UPDATE users SET sessions_ended_at = GREATEST(${now}::timestamptz, sessions_ended_at + interval '1 millisecond') WHERE id = ${userId}::uuid`);
  const ended = await scope.query<{ id: string }>(sql`
    UPDATE sessions SET revoked_at = ${now}::timestamptz, revoke_reason = ${reason}
    WHERE user_id = ${userId}::uuid AND revoked_at IS NULL
      ${filter.only ? sql`AND id = ${filter.only}::uuid` : empty} ${filter.except ? sql`AND id <> ${filter.except}::uuid` : empty}
    RETURNING id`);
  const ids = ended.map((s) => s.id);
  for (const id of ids) scope.publish("session.revoked", id, { userId, reason });
  return ids;
}

/** What the service uses, by name. */
export type SessionsServiceDeps = Pick<Kernel, "prisma" | "sql" | "unitOfWork" | "rateLimits" | "clock" | "background"> & {
  hasher: PasswordHasher;
  tokens: AccessTokens;
  revocations: SessionRevocations;
  /** Checked in order by every way in; modules add theirs at start. */
  gates: readonly LoginGate[];
  claims: ClaimsSource;
};

/** Login's lookup: the address as limits count it, and the account's columns (all null when there is none). */
type LoginLookup = { emailKey: string } & Partial<LoginSubject>;

/** Login, token refresh with rotation and reuse detection, logout, the caller's own account. */
export class SessionsService {
  private readonly limits = sessionsLimits(this.settings);

  constructor(
    private readonly deps: SessionsServiceDeps,
    private readonly settings: SessionSettings,
  ) {}

  /**
   * Password login: parse, limits, the password, then `start` (the gates, then the session). The
   * same error, after the same bcrypt work, for an unknown email, a wrong password and an account
   * a gate refuses (pending, suspended, deleted). `signal` fires when the caller has gone: a
   * comparison still waiting for a hashing thread is then dropped.
   */
  async login(input: LoginInput, origin: Origin, signal?: AbortSignal): Promise<AuthPayload | MfaChallenge> {
    const check = new InputCheck("input");
    const email = check.email("email", input.email);
    const name = check.text("deviceName", input.deviceName, 100);
    const fingerprint = check.text("deviceFingerprint", input.deviceFingerprint, 128);
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);
    // Whatever the emails, so that one address cannot fill the hashing queue with made-up ones.
    await this.limits.loginAddress.consume(this.deps, { ip: origin });
    // The account's limits are counted under its id, an unknown address under the database's
    // spelling of it (what citext compares), so every spelling of one address shares them; the
    // spelling is read with the account, in one statement, so both cases do the same work.
    const [{ emailKey: key, ...found }] = (await this.deps.sql.query<LoginLookup>(sql`
      SELECT ${emailKeyOf(email)} AS "emailKey", u.* FROM (VALUES (1)) one LEFT JOIN LATERAL (
        SELECT ${USER_ROW_COLUMNS}, password_hash AS "passwordHash", deleted_at AS "deletedAt", sessions_ended_at AS "sessionsEndedAt"
        FROM users WHERE email = ${email}::citext) u ON true`)) as [LoginLookup];
    const user = found.id ? (found as LoginSubject) : null;
    const account = user ? `user:${user.id}` : `email:${key}`;
    await this.limits.login.consume(this.deps, { account, ip: origin });
    // Failures per account from every address: a soft lock that ends with its window, so an
    // attacker slows guessing down without locking the owner out for good. Each attempt counts as
    // a failure before bcrypt (one atomic increment, so guesses waiting for a hashing thread cannot
    // all pass the check together) and is given back when it succeeds.
    await this.limits.loginFailures.consume(this.deps, { account });

    // Over bcrypt's 72 bytes no stored password can match (they are refused when set); bcrypt would truncate.
    const tooLong = Buffer.byteLength(input.password, "utf8") > BCRYPT_MAX_BYTES;
    const matches = (await this.deps.hasher.verify(tooLong ? "" : input.password, user?.passwordHash, signal)) && !tooLong;
    if (!user?.passwordHash || !matches) return this.refuse(origin, user, "bad_password");
    const stored = user.passwordHash;
    const result = await this.start(user, { name, fingerprint, rememberMe: input.rememberMe === true }, origin, { amr: ["pwd"], verifiedHash: stored });
    await this.limits.loginFailures.refund(this.deps, { account }); // not a failure after all
    // A hash made before BCRYPT_COST was raised: made again now that the password is known. Not
    // while a challenge waits: it is bound to the hash the password was checked against.
    if (this.deps.hasher.needsRehash(stored) && "accessToken" in result) await this.deps.background.run("password rehash", () => this.rehash(user.id, stored, input.password));
    return result;
  }

  /**
   * Where every way in ends (password, MFA completion, Google, step-up): the registered gates in
   * order, then a new session with its tokens. A gate's challenge is answered instead of tokens; a
   * refusal is the way in's usual failure.
   */
  async start(user: LoginSubject, device: Device, origin: Origin, proof: LoginProof): Promise<AuthPayload | MfaChallenge> {
    for (const gate of this.deps.gates) {
      const answer = await gate.check(user, proof, origin, device);
      if (answer && "refused" in answer) return this.refuse(origin, user, answer.refused);
      if (answer) return answer;
    }
    const now = this.deps.clock.now();
    const refreshToken = newOpaqueToken();
    const session = await this.deps.unitOfWork.runSql({ ...origin, actor: { type: "user", id: user.id } }, async (scope) => {
      // The user as it is now, locked until this commits against a password change or reset and
      // an end of every session: the password checked is still the password, the account may
      // still log in, and no end of every session has committed since the user was read.
      const [current] = await scope.query<{ passwordHash: string | null; status: string; deletedAt: Date | null; sessionsEndedAt: Date | null }>(sql`
        SELECT password_hash AS "passwordHash", status::text AS status, deleted_at AS "deletedAt", sessions_ended_at AS "sessionsEndedAt"
        FROM users WHERE id = ${user.id}::uuid FOR SHARE`);
      const rehashed = proof.verifiedHash !== undefined && current?.passwordHash !== proof.verifiedHash;
      if (!current || rehashed || current.status !== "ACTIVE" || current.deletedAt || current.sessionsEndedAt?.getTime() !== user.sessionsEndedAt?.getTime()) {
        scope.audit({ action: "user.login", outcome: "failure", subjectType: "user", subjectId: user.id, metadata: { reason: "superseded" } });
        return null;
      }
      // A device seen before: by its fingerprint when the client gives one, otherwise by the user
      // agent and address the service sees; with neither known, a new device.
      const seenBy = device.fingerprint
        ? sql`device_fingerprint = ${device.fingerprint}`
        : origin.userAgent && origin.ipAddress
          ? sql`user_agent = ${origin.userAgent} AND ip_address = ${origin.ipAddress}`
          : null;
      const { name: deviceName, rememberMe } = device;
      const expiresAt = new Date(now.getTime() + (rememberMe ? this.settings.rememberMeSessionMs : this.settings.sessionMs));
      // The session and its first refresh token in one statement; `seen` is read before the insert.
      // The service's clock, not the database's, for created_at: `auth_time` is read from it.
      const [created] = await scope.query<SessionFields & SessionProof & { seen: boolean }>(sql`
        WITH created AS (
          INSERT INTO sessions (id, user_id, device_name, device_fingerprint, user_agent, ip_address, country, remember_me, expires_at, amr, second_factor_at, created_at, last_active_at)
          VALUES (${randomUUID()}::uuid, ${user.id}::uuid, ${deviceName}, ${device.fingerprint}, ${origin.userAgent ?? null}, ${origin.ipAddress ?? null}, ${origin.country ?? null},
                  ${rememberMe}, ${expiresAt}::timestamptz, ${proof.amr}::text[], ${proof.amr.includes("otp") ? now : null}::timestamptz, ${now}::timestamptz, ${now}::timestamptz)
          RETURNING *
        ), token AS (
          INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
          SELECT ${randomUUID()}::uuid, id, ${hashToken(refreshToken)}, LEAST(${new Date(now.getTime() + this.settings.refreshIdleMs)}::timestamptz, expires_at) FROM created
        )
        SELECT id, device_name AS "deviceName", user_agent AS "userAgent", ip_address AS "ipAddress", country, created_at AS "createdAt",
               last_active_at AS "lastActiveAt", expires_at AS "expiresAt", amr, second_factor_at AS "secondFactorAt",
               ${seenBy ? sql`EXISTS (SELECT FROM sessions WHERE user_id = ${user.id}::uuid AND ${seenBy})` : sql`false`} AS seen
        FROM created`);
      if (!created) throw new Error("the session insert returned no row");
      const { seen } = created;
      scope.publish("session.created", created.id, { userId: user.id, deviceName, rememberMe });
      scope.publish("user.logged_in", user.id, { sessionId: created.id, newDevice: !seen });
      scope.audit({ action: "user.login", subjectType: "session", subjectId: created.id, metadata: { deviceName, rememberMe } });
      if (!seen) {
        scope.notify({ to: user.email, template: "new-device-login", locale: user.locale, params: { deviceName: deviceName ?? "unknown device", ipAddress: origin.ipAddress ?? "unknown" } });
      }
      return created;
    });
    if (!session) throw new UnauthenticatedError(LOGIN_FAILED);
    return this.payload(user.id, session, refreshToken, async () => user);
  }

  /**
   * A refused way in: recorded in the background, so that the answer takes the same time whatever
   * is recorded (SECURITY 2); an unknown email's failure is audited too, without the address.
   */
  private async refuse(origin: Origin, user: LoginSubject | null, reason: RefusalReason | "bad_password"): Promise<never> {
    await this.deps.background.run("failed login record", () => this.deps.unitOfWork.run(origin, async (scope) => {
      if (!user) {
        scope.audit({ action: "user.login", outcome: "failure", metadata: { reason: "unknown_account" } });
        return;
      }
      scope.publish("user.login_failed", user.id, { reason });
      scope.audit({ action: "user.login", outcome: "failure", subjectType: "user", subjectId: user.id, metadata: { reason } });
    }));
    throw new UnauthenticatedError(LOGIN_FAILED);
  }

  /** Stores a hash of `password` at the configured cost, unless the password changed meanwhile. */
  private async rehash(userId: string, stored: string, password: string): Promise<void> {
    const passwordHash = await this.deps.hasher.hash(password);
    await this.deps.prisma.user.updateMany({ where: { id: userId, passwordHash: stored }, data: { passwordHash } });
  }

  /**
   * Rotates a refresh token: the presented one is spent by an atomic compare-and-swap (of
   * concurrent refreshes exactly one wins) and a new one issued, with the audit record, in one SQL
   * statement and no interactive transaction. A spent token presented again within `reuseGraceMs`
   * of its rotation (`used_at`) is refused and nothing more: a concurrent refresh that lost, such as
   * a second tab. Later, it is reuse: the whole session is revoked and
   * `session.token_reuse_detected` emitted. Rotations are limited per session
   * (`REFRESH_RATE_LIMIT` a minute), counted before anything is spent, so a limited refresh leaves
   * the presented token usable.
   */
  async refresh(presented: string, origin: Origin): Promise<AuthPayload> {
    if (!TOKEN_SHAPE.test(presented)) throw refreshDenied();
    const tokenHash = hashToken(presented);
    const [held] = await this.deps.sql.query<{ sessionId: string; userId: string; usedAt: Date | null }>(sql`
      SELECT t.session_id AS "sessionId", s.user_id AS "userId", t.used_at AS "usedAt"
      FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ${tokenHash}`);
    if (!held) throw refreshDenied();
    if (held.usedAt) return this.refuseReuse(origin, tokenHash);
    await this.limits.refresh.consume(this.deps, { session: held.sessionId });
    const next = newOpaqueToken();
    const now = this.deps.clock.now();
    const idleExpiry = new Date(now.getTime() + this.settings.refreshIdleMs);
    const [row] = await this.deps.unitOfWork.statement<RotationRow>(
      { ...origin, actor: { type: "user", id: held.userId } },
      [{ action: "session.refresh", subjectType: "session", subjectId: held.sessionId }],
      sql`spent AS (
          UPDATE refresh_tokens SET used_at = ${now}
          WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now}
          RETURNING session_id
        ), live AS (
          UPDATE sessions s SET last_active_at = ${now}
          FROM spent, users u
          WHERE s.id = spent.session_id AND u.id = s.user_id AND s.revoked_at IS NULL AND s.expires_at > ${now}
            AND u.status = 'ACTIVE' AND u.deleted_at IS NULL
          RETURNING s.*
        ), issued AS (
          INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
          SELECT ${randomUUID()}::uuid, live.id, ${hashToken(next)}, LEAST(${idleExpiry}::timestamptz, live.expires_at) FROM live
        ), done AS (SELECT FROM live)`,
      sql`SELECT live.id, live.user_id AS "userId", live.device_name AS "deviceName",
               live.user_agent AS "userAgent", live.ip_address AS "ipAddress", live.country, live.created_at AS "createdAt",
               live.last_active_at AS "lastActiveAt", live.expires_at AS "expiresAt",
               live.amr, live.second_factor_at AS "secondFactorAt"
        FROM spent LEFT JOIN live ON true`,
    );
    // Not spent now: expired, or spent a moment ago by a concurrent refresh (a second use too).
    if (!row) return this.refuseReuse(origin, tokenHash);
    if (row.id === null || row.userId === null) throw refreshDenied();
    const { userId } = row;
    return this.payload(userId, row as SessionFields & SessionProof, next, () => this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } }));
  }

  /**
   * A spent token presented again: past the grace window its session ends, unless it has already
   * ended; the caller is refused either way.
   */
  private async refuseReuse(origin: Origin, tokenHash: string): Promise<never> {
    const now = this.deps.clock.now();
    const reused = await this.deps.unitOfWork.run(origin, async (scope) => {
      const known = await scope.tx.refreshToken.findUnique({ where: { tokenHash }, include: { session: true } });
      if (!known?.usedAt || known.session.revokedAt) return null;
      // An instance whose clock is behind the rotating one's sees a negative age: no time has passed.
      const sinceRotation = Math.max(0, now.getTime() - known.usedAt.getTime());
      if (sinceRotation < this.settings.reuseGraceMs) return null;
      await scope.tx.session.update({ where: { id: known.sessionId }, data: { revokedAt: now, revokeReason: "token_reuse" } });
      scope.publish("session.token_reuse_detected", known.sessionId, { userId: known.session.userId });
      scope.publish("session.revoked", known.sessionId, { userId: known.session.userId, reason: "token_reuse" });
      scope.audit({ action: "session.token_reuse", outcome: "denied", subjectType: "session", subjectId: known.sessionId });
      return known.sessionId;
    });
    if (reused) await this.deps.revocations.markRevoked([reused]);
    throw refreshDenied();
  }

  /** Ends the caller's session, or every session of the caller. */
  async logout(viewer: Viewer, allDevices: boolean, origin: Origin): Promise<true> {
    const ended = await this.deps.unitOfWork.runSql(origin, async (scope) => {
      const ids = await endSessions(scope, viewer.userId, allDevices ? "logout_all" : "logout", allDevices ? {} : { only: viewer.sessionId }, this.deps.clock.now());
      scope.publish("user.logged_out", viewer.userId, { sessionIds: ids, allDevices });
      scope.audit({ action: allDevices ? "user.logout_all" : "user.logout", subjectType: "user", subjectId: viewer.userId, metadata: { sessions: ids.length } });
      return ids;
    });
    await this.deps.revocations.markRevoked(ended);
    return true;
  }

  /** The caller's live sessions, newest first, the current one marked. */
  async mySessions(viewer: Viewer): Promise<SessionInfo[]> {
    const sessions = await this.deps.prisma.session.findMany({
      where: { userId: viewer.userId, revokedAt: null, expiresAt: { gt: this.deps.clock.now() } },
      orderBy: { lastActiveAt: "desc" },
    });
    return sessions.map((session) => toSessionInfo(session, viewer.sessionId));
  }

  /** Ends one of the caller's own sessions (`sessionId` as the edge parsed it); another user's session id is NOT_FOUND. */
  async revokeSession(viewer: Viewer, sessionId: string, origin: Origin): Promise<true> {
    const revoked = await this.deps.unitOfWork.runSql(origin, async (scope) => {
      const ids = await endSessions(scope, viewer.userId, "revoked", { only: sessionId }, this.deps.clock.now());
      for (const id of ids) scope.audit({ action: "session.revoke", subjectType: "session", subjectId: id });
      return ids;
    });
    if (revoked.length === 0) throw new NotFoundError("Session");
    // The ids as stored (and as tokens carry them), whatever the caller's spelling.
    await this.deps.revocations.markRevoked(revoked);
    return true;
  }

  /** The caller's own user: a prepared statement through pg (every signed-in page asks for it). */
  async me(viewer: Viewer): Promise<User> {
    const [user] = await this.deps.sql.query<UserRow>(sql`SELECT ${USER_ROW_COLUMNS} FROM users WHERE id = ${viewer.userId}::uuid AND deleted_at IS NULL`);
    if (!user) throw new UnauthenticatedError();
    return privateUser(user, viewer.roles);
  }

  /**
   * A second factor given now in the viewer's session (a step-up): the session records it (`amr`
   * gains `otp`, refreshes keep it) and a fresh access token says so (`auth_time` now).
   */
  async stepUp(viewer: Viewer, origin: Origin): Promise<AccessTokenPayload> {
    const now = this.deps.clock.now();
    const session = await this.deps.unitOfWork.run(origin, async (scope) => {
      const [row] = await scope.tx.$queryRaw<SessionProof[]>`
        UPDATE sessions SET amr = CASE WHEN 'otp' = ANY(amr) THEN amr ELSE array_append(amr, 'otp') END, second_factor_at = ${now}
        WHERE id = ${viewer.sessionId}::uuid AND user_id = ${viewer.userId}::uuid AND revoked_at IS NULL AND expires_at > ${now}
        RETURNING id, amr, created_at AS "createdAt", second_factor_at AS "secondFactorAt"`;
      if (row) scope.audit({ action: "session.step_up", subjectType: "session", subjectId: row.id });
      return row;
    });
    if (!session) throw new UnauthenticatedError("Session has ended");
    return this.accessToken(viewer.userId, session, (await this.deps.claims.claimsOf(viewer.userId)).roles);
  }

  private async accessToken(userId: string, session: SessionProof, roles: string[]): Promise<AccessTokenPayload> {
    const authTime = Math.floor((session.secondFactorAt ?? session.createdAt).getTime() / 1000);
    const accessToken = await this.deps.tokens.issue({ userId, sessionId: session.id, roles, amr: session.amr, authTime });
    return { accessToken, tokenType: "Bearer", expiresIn: this.deps.tokens.ttlSeconds };
  }

  /** Tokens for a session; the user is loaded only when the operation selects it. */
  private async payload(userId: string, session: SessionFields & SessionProof, refreshToken: string, loadUser: () => Promise<UserRow>): Promise<AuthPayload> {
    const { roles } = await this.deps.claims.claimsOf(userId);
    return {
      ...(await this.accessToken(userId, session, roles)),
      refreshToken,
      session: toSessionInfo(session, session.id),
      get user() {
        return loadUser().then((row) => privateUser(row, roles));
      },
    };
  }
}
