import { createHash, randomUUID } from "node:crypto";
import QRCode from "qrcode";
import type { Viewer } from "../../graphql/context";
import { BCRYPT_MAX_BYTES, type PasswordHasher } from "../../platform/crypto/passwords";
import { sql, type Tx } from "../../platform/db/database";
import type { Origin, WorkScope } from "../../platform/events/unit-of-work";
import { BadUserInputError, ForbiddenError, UnauthenticatedError } from "../../shared/errors";
import type { SingleUseTokens } from "../../shared/single-use-tokens";
import type { Kernel } from "../module";
import { MfaMethod, type AccessTokenPayload, type Amr, type AuthPayload, type Device, type LoginGate, type MfaChallenge, type SessionsApi } from "../sessions";
import { mfaLimits } from "./mfa.limits";
import { totpSecretBinding } from "./mfa.sealed";
import type { BackupCodes, TotpSetup } from "./mfa.types";
import { backupCodeHash, looksLikeTotp, newBackupCodes, newBackupSalt, newTotpSecret, normaliseBackupCode, otpauthUri, totpStep } from "./totp";

export type MfaServiceDeps = Pick<Kernel, "prisma" | "sql" | "unitOfWork" | "rateLimits" | "clock" | "vault"> & {
  hasher: PasswordHasher;
  sessions: Pick<SessionsApi, "start" | "stepUp">;
  challenges: SingleUseTokens<"mfa-challenge">;
};

export interface MfaSettings {
  issuer: string;
  challengeTtlMs: number;
}

/** Where a code is presented: the `mfa.code_reused` event says so. */
type During = "login" | "step_up" | "disable" | "regenerate_backup_codes";
/** What a presented code turned out to be. */
type Verdict = "totp" | "backup_code" | "wrong" | "totp_reused" | "backup_code_reused";

/** What a login's challenge is bound to: the attempt that earned it (SECURITY 30). */
interface ChallengeContext {
  /** How the attempt proved who it is (a password; a Google sign-in next): `otp` joins it. */
  amr: Amr[];
  device: Device;
  ipAddress: string | null;
  userAgent: string | null;
  /** SHA-256 of the password hash the password was checked against (null: no password): a changed password voids the challenge. */
  passwordDigest: string | null;
  /** The user's `sessionsEndedAt` then: an end of every session since (a reset) voids it. */
  sessionsEndedAt: string | null;
}

/** Where a code is judged: the database, or the transaction that spends a challenge with it. */
type Db = Pick<Tx, "mfaTotp" | "$queryRaw" | "$executeRaw">;

/** A code refused inside the transaction that would have spent the challenge: rolls it back. */
class Refused extends Error {
  constructor(readonly verdict: Verdict) {
    super(`second factor refused: ${verdict}`);
  }
}

const CHALLENGE_FAILED = "Invalid or expired MFA challenge or code";
const INVALID_CODE = "Invalid code";
const digest = (value: string) => createHash("sha256").update(value).digest("hex");

/**
 * TOTP (RFC 6238) with backup codes: enrolment, the login challenge, step-up, disabling. Every
 * code is judged by `judge`, which accepts each TOTP time step and each backup code once
 * (compare-and-swap), after one unit of the account's guess limit (SECURITY 25, 26).
 */
export class MfaService {
  constructor(
    private readonly deps: MfaServiceDeps,
    private readonly settings: MfaSettings,
  ) {}

  /** The login gate: a user with TOTP on who has given no second factor gets a challenge, not a session. */
  readonly gate: LoginGate = {
    name: "mfa",
    check: async (user, proof, origin, device) => {
      if (proof.amr.includes("otp")) return null;
      // Every password login asks: a prepared statement.
      const [totp] = await this.deps.sql.query<{ enabled: boolean }>(sql`SELECT enabled_at IS NOT NULL AS enabled FROM mfa_totp WHERE user_id = ${user.id}::uuid`);
      if (!totp?.enabled) return null;
      const context: ChallengeContext = {
        amr: proof.amr,
        device,
        ipAddress: origin.ipAddress ?? null,
        userAgent: origin.userAgent ?? null,
        passwordDigest: proof.verifiedHash ? digest(proof.verifiedHash) : null,
        sessionsEndedAt: user.sessionsEndedAt?.toISOString() ?? null,
      };
      const minted = await this.deps.challenges.issue(this.deps.prisma, "mfa-challenge", user.id, this.settings.challengeTtlMs, context);
      const challenge: MfaChallenge = { challengeToken: minted.token, methods: [MfaMethod.TOTP, MfaMethod.BACKUP_CODE], expiresAt: minted.expiresAt };
      return challenge;
    },
  };

  /** A new pending secret (replacing a pending one); refused while TOTP is on, so an active secret is never shown again. */
  async setupTotp(viewer: Viewer, origin: Origin): Promise<TotpSetup> {
    const user = await this.deps.prisma.user.findUnique({ where: { id: viewer.userId }, select: { email: true, mfaTotp: { select: { enabledAt: true } } } });
    if (!user) throw new UnauthenticatedError();
    if (user.mfaTotp?.enabledAt) throw alreadyOn();
    const secret = newTotpSecret();
    const sealed = await this.deps.vault.seal(secret, totpSecretBinding(viewer.userId));
    await this.deps.unitOfWork.run(origin, async (scope) => {
      // Only a pending row is replaced: an enableTotp that committed meanwhile keeps its secret.
      const stored = await scope.tx.$executeRaw`
        INSERT INTO mfa_totp (user_id, secret_enc, wrapped_key, kek_id, updated_at)
        VALUES (${viewer.userId}::uuid, ${sealed.ciphertext}, ${sealed.wrappedKey}, ${sealed.kekId}, now())
        ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, wrapped_key = EXCLUDED.wrapped_key, kek_id = EXCLUDED.kek_id, last_used_step = NULL, updated_at = now()
        WHERE mfa_totp.enabled_at IS NULL`;
      if (stored === 0) throw alreadyOn();
      scope.audit({ action: "mfa.setup", subjectType: "user", subjectId: viewer.userId });
    });
    const uri = otpauthUri(this.settings.issuer, user.email, secret);
    return { secret, otpauthUri: uri, qrCodeSvg: await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 4 }) };
  }

  /** Turns TOTP on once a code of the pending secret proves the authenticator has it; answers the backup codes. */
  async enableTotp(viewer: Viewer, code: string, origin: Origin): Promise<BackupCodes> {
    const { userId } = viewer;
    const pending = await this.deps.prisma.mfaTotp.findUnique({ where: { userId } });
    if (!pending) throw new ForbiddenError("No pending TOTP secret: call setupTotp first");
    if (pending.enabledAt) throw alreadyOn();
    const step = await this.attempt(userId, async () => {
      const step = await totpStep(await this.secretOf(pending), code, this.deps.clock.now().getTime());
      if (step === null) {
        await this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "mfa.enable", outcome: "failure", subjectType: "user", subjectId: userId, metadata: { reason: "wrong_code" } }));
        throw BadUserInputError.field("code", "is not a valid code of the pending secret");
      }
      return step;
    });
    const { codes, salt, hashes } = await this.newBackupCodes();
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true, locale: true } });
    await this.deps.unitOfWork.run(origin, async (scope) => {
      // The secret the code was checked against, still pending (a concurrent setupTotp or enableTotp changes that).
      // Its time step is spent with it: the code that enrolled logs in no one (SECURITY 25).
      const enabled = await scope.tx.$executeRaw`
        UPDATE mfa_totp SET enabled_at = ${this.deps.clock.now()}, backup_salt = ${salt}, last_used_step = ${step}, updated_at = now()
        WHERE user_id = ${userId}::uuid AND enabled_at IS NULL AND secret_enc = ${pending.secretEnc} AND (last_used_step IS NULL OR last_used_step < ${step})`;
      if (enabled === 0) throw new ForbiddenError("The pending TOTP secret changed meanwhile: call setupTotp again");
      await scope.tx.mfaBackupCode.createMany({ data: hashes.map((codeHash) => ({ id: randomUUID(), userId, codeHash })) });
      scope.publish("mfa.enabled", userId, { method: "totp", backupCodes: codes.length });
      scope.audit({ action: "mfa.enable", subjectType: "user", subjectId: userId });
      scope.notify({ to: user.email, template: "mfa-enabled", locale: user.locale, params: { backupCodes: String(codes.length) } });
    });
    return { backupCodes: codes };
  }

  /**
   * The second step of a login: the challenge must still work and come from the same address and
   * user agent; in one transaction it is spent and the code judged (a wrong code rolls both back,
   * so the challenge stays for another try within the guess limit, and of two completions racing
   * one wins); then the login ends in `sessions.start` as a password login does, `otp` added to its
   * `amr`. A wrong or replayed code notifies the user (SECURITY 5).
   */
  async completeMfaLogin(input: { challengeToken: string; code: string }, origin: Origin): Promise<AuthPayload> {
    const held = await this.deps.challenges.peek(this.deps.prisma, "mfa-challenge", input.challengeToken);
    const context = held?.context as ChallengeContext | undefined;
    if (!held || !context || context.ipAddress !== (origin.ipAddress ?? null) || context.userAgent !== (origin.userAgent ?? null)) throw new UnauthenticatedError(CHALLENGE_FAILED);
    const { userId } = held;
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId } });
    const passwordStill = context.passwordDigest === null || (user?.passwordHash ? digest(user.passwordHash) === context.passwordDigest : false);
    if (!user || !passwordStill) throw new UnauthenticatedError(CHALLENGE_FAILED);
    const userOrigin: Origin = { ...origin, actor: { type: "user", id: userId } };
    const verdict = await this.attempt(userId, async () => {
      const judged = await this.claimAndJudge(input.challengeToken, userId, input.code);
      if (judged === "spent" || judged === "totp" || judged === "backup_code") return judged;
      await this.deps.unitOfWork.run(userOrigin, async (scope) => {
        const reason = judged === "wrong" ? "wrong_code" : "code_reused";
        this.recordReuse(scope, userId, judged, "login");
        scope.publish("mfa.challenge_failed", userId, { reason });
        scope.audit({ action: "mfa.challenge", outcome: "failure", subjectType: "user", subjectId: userId, metadata: { reason } });
        this.notifyFailure(scope, user, origin);
      });
      throw new UnauthenticatedError(CHALLENGE_FAILED);
    });
    if (verdict === "spent") throw new UnauthenticatedError(CHALLENGE_FAILED); // completed meanwhile, or expired
    if (verdict === "backup_code") await this.deps.unitOfWork.run(userOrigin, async (scope) => scope.audit({ action: "mfa.backup_code_use", subjectType: "user", subjectId: userId }));
    // The user as the challenge saw it: a reset or an end of every session since then refuses the login in `start`.
    const subject = { ...user, sessionsEndedAt: context.sessionsEndedAt === null ? null : new Date(context.sessionsEndedAt) };
    const proof = { amr: [...context.amr, "otp" as const], ...(context.passwordDigest !== null && user.passwordHash ? { verifiedHash: user.passwordHash } : {}) };
    const result = await this.deps.sessions.start(subject, context.device, origin, proof);
    if (!("accessToken" in result)) throw new UnauthenticatedError(CHALLENGE_FAILED); // the gates asked again: never with otp
    return result;
  }

  /** Spends the challenge and judges the code in one transaction; a wrong code rolls the spending back. */
  private async claimAndJudge(challengeToken: string, userId: string, code: string): Promise<Verdict | "spent"> {
    try {
      return await this.deps.prisma.$transaction(async (tx) => {
        if (!(await this.deps.challenges.consume(tx, "mfa-challenge", challengeToken))) return "spent" as const;
        const verdict = await this.judge(tx, userId, code);
        if (verdict === "totp" || verdict === "backup_code") return verdict;
        throw new Refused(verdict);
      });
    } catch (error) {
      if (error instanceof Refused) return error.verdict;
      throw error;
    }
  }

  /** A second factor given now, in the viewer's session: a fresh access token with `amr` [pwd, otp] and `auth_time` now. */
  async stepUp(viewer: Viewer, code: string, origin: Origin): Promise<AccessTokenPayload> {
    await this.reauthenticate(viewer, code, "step_up", "mfa.step_up", origin);
    return this.deps.sessions.stepUp(viewer, origin);
  }

  /** Turns TOTP off: the password and a code (SECURITY 4, 28); the secret and backup codes are deleted. */
  async disableTotp(viewer: Viewer, input: { password: string; code: string }, origin: Origin): Promise<true> {
    const { userId } = viewer;
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    await this.requireOn(userId);
    await this.attempt(userId, async () => {
      const tooLong = Buffer.byteLength(input.password, "utf8") > BCRYPT_MAX_BYTES;
      const passwordOk = !tooLong && (await this.deps.hasher.verify(input.password, user.passwordHash));
      // The code is judged only after the right password, so a wrong password spends no time step.
      const verdict = passwordOk ? await this.judge(this.deps.prisma, userId, input.code) : "wrong";
      if (verdict === "totp" || verdict === "backup_code") return;
      await this.refuse(userId, verdict, "disable", "mfa.disable", origin, passwordOk ? "wrong_code" : "wrong_password");
    });
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const removed = await scope.tx.mfaTotp.deleteMany({ where: { userId, enabledAt: { not: null } } });
      if (removed.count === 0) return;
      scope.publish("mfa.disabled", userId, { method: "totp" });
      scope.audit({ action: "mfa.disable", subjectType: "user", subjectId: userId });
      scope.notify({ to: user.email, template: "mfa-disabled", locale: user.locale, params: { ipAddress: origin.ipAddress ?? "unknown" } });
    });
    return true;
  }

  /** New backup codes for a code; every old one stops working. */
  async regenerateBackupCodes(viewer: Viewer, code: string, origin: Origin): Promise<BackupCodes> {
    const { userId } = viewer;
    await this.reauthenticate(viewer, code, "regenerate_backup_codes", "mfa.backup_codes_regenerate", origin);
    const { codes, salt, hashes } = await this.newBackupCodes();
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const updated = await scope.tx.mfaTotp.updateMany({ where: { userId, enabledAt: { not: null } }, data: { backupSalt: salt } });
      if (updated.count === 0) throw notOn();
      await scope.tx.mfaBackupCode.deleteMany({ where: { userId } });
      await scope.tx.mfaBackupCode.createMany({ data: hashes.map((codeHash) => ({ id: randomUUID(), userId, codeHash })) });
      scope.publish("mfa.backup_codes_regenerated", userId, { backupCodes: codes.length });
      scope.audit({ action: "mfa.backup_codes_regenerate", subjectType: "user", subjectId: userId });
    });
    return { backupCodes: codes };
  }

  /** Whether each user has TOTP on (`User.mfaEnabled`), batched. */
  async enabledFor(userIds: readonly string[]): Promise<boolean[]> {
    const rows = await this.deps.prisma.mfaTotp.findMany({ where: { userId: { in: [...userIds] }, enabledAt: { not: null } }, select: { userId: true } });
    const on = new Set(rows.map((row) => row.userId));
    return userIds.map((id) => on.has(id));
  }

  /** A signed-in user proves the second factor again (step-up, regeneration); FORBIDDEN when they do not. */
  private async reauthenticate(viewer: Viewer, code: string, during: During, action: string, origin: Origin): Promise<void> {
    await this.requireOn(viewer.userId);
    await this.attempt(viewer.userId, async () => {
      const verdict = await this.judge(this.deps.prisma, viewer.userId, code);
      if (verdict !== "totp" && verdict !== "backup_code") await this.refuse(viewer.userId, verdict, during, action, origin, "wrong_code");
    });
  }

  private async requireOn(userId: string): Promise<void> {
    if (!(await this.deps.prisma.mfaTotp.findFirst({ where: { userId, enabledAt: { not: null } }, select: { userId: true } }))) throw notOn();
  }

  /** Records a refused code (audited; a replay also as `mfa.code_reused`, and the user told) and throws FORBIDDEN (one message whatever was wrong). */
  private async refuse(userId: string, verdict: Verdict, during: During, action: string, origin: Origin, reason: string): Promise<never> {
    const reused = verdict === "totp_reused" || verdict === "backup_code_reused";
    const user = reused ? await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { email: true, locale: true } }) : null;
    await this.deps.unitOfWork.run(origin, async (scope) => {
      this.recordReuse(scope, userId, verdict, during);
      if (user) this.notifyFailure(scope, user, origin);
      scope.audit({ action, outcome: "failure", subjectType: "user", subjectId: userId, metadata: { reason: verdict.endsWith("_reused") ? "code_reused" : reason } });
    });
    throw new ForbiddenError(during === "disable" ? "Invalid password or code" : INVALID_CODE);
  }

  /** `mfa-challenge-failed`: a second factor failed where the user had proved the first (SECURITY 5, 25). */
  private notifyFailure(scope: WorkScope, user: { email: string; locale: string }, origin: Origin): void {
    scope.notify({ to: user.email, template: "mfa-challenge-failed", locale: user.locale, params: { ipAddress: origin.ipAddress ?? "unknown", userAgent: origin.userAgent ?? "unknown" } });
  }

  private recordReuse(scope: WorkScope, userId: string, verdict: Verdict, during: During): void {
    if (verdict !== "totp_reused" && verdict !== "backup_code_reused") return;
    scope.publish("mfa.code_reused", userId, { factor: verdict === "totp_reused" ? "totp" : "backup_code", during });
    scope.audit({ action: "mfa.code_reuse", outcome: "denied", subjectType: "user", subjectId: userId, metadata: { factor: verdict, during } });
  }

  /**
   * One second-factor attempt of the account: a unit of the guess limit first (so aliases and
   * parallel requests cannot all pass the check, and in the cooldown even the right code is
   * RATE_LIMITED), given back when `judged` succeeds.
   */
  private async attempt<T>(userId: string, judged: () => Promise<T>): Promise<T> {
    await mfaLimits.guesses.consume(this.deps, { user: userId });
    const result = await judged();
    await mfaLimits.guesses.refund(this.deps, { user: userId });
    return result;
  }

  /**
   * Accepts a code of the user's active second factor once: a TOTP code (6 digits) for a time
   * step after the last accepted one, stored by compare-and-swap so that of two racing requests
   * one wins; or an unused backup code, spent the same way.
   */
  private async judge(db: Db, userId: string, code: string): Promise<Verdict> {
    const totp = await db.mfaTotp.findUnique({ where: { userId } });
    if (!totp?.enabledAt) return "wrong";
    if (looksLikeTotp(code)) {
      const step = await totpStep(await this.secretOf(totp), code, this.deps.clock.now().getTime());
      if (step === null) return "wrong";
      const taken = await db.$executeRaw`
        UPDATE mfa_totp SET last_used_step = ${step} WHERE user_id = ${userId}::uuid AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < ${step})`;
      return taken === 1 ? "totp" : "totp_reused";
    }
    const normalised = normaliseBackupCode(code);
    if (!normalised || !totp.backupSalt) return "wrong";
    const codeHash = await backupCodeHash(normalised, totp.backupSalt);
    const [row] = await db.$queryRaw<{ spent: boolean; known: boolean }[]>`
      WITH spent AS (
        UPDATE mfa_backup_codes SET used_at = ${this.deps.clock.now()} WHERE user_id = ${userId}::uuid AND code_hash = ${codeHash} AND used_at IS NULL RETURNING id
      )
      SELECT EXISTS (SELECT FROM spent) AS spent, EXISTS (SELECT FROM mfa_backup_codes WHERE user_id = ${userId}::uuid AND code_hash = ${codeHash}) AS known`;
    return row?.spent ? "backup_code" : row?.known ? "backup_code_reused" : "wrong";
  }

  private secretOf(totp: { userId: string; secretEnc: string; wrappedKey: string; kekId: string }): Promise<string> {
    return this.deps.vault.open({ ciphertext: totp.secretEnc, wrappedKey: totp.wrappedKey, kekId: totp.kekId }, totpSecretBinding(totp.userId));
  }

  private async newBackupCodes(): Promise<{ codes: string[]; salt: string; hashes: string[] }> {
    const codes = newBackupCodes();
    const salt = newBackupSalt();
    const hashes = await Promise.all(codes.map((code) => backupCodeHash(normaliseBackupCode(code) as string, salt)));
    return { codes, salt, hashes };
  }
}

const alreadyOn = () => new ForbiddenError("TOTP is already enabled: disable it first to enrol another authenticator");
const notOn = () => new ForbiddenError("TOTP is not enabled");
