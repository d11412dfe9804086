import { BadUserInputError, ForbiddenError } from "../../shared/errors";
import type { Viewer } from "../../graphql/context";
import type { PasswordHasher } from "../../platform/crypto/passwords";
import { hashToken, newOpaqueToken } from "../../platform/crypto/tokens";
import type { Tx } from "../../platform/db/database";
import type { Origin } from "../../platform/events/unit-of-work";
import { consume } from "../../platform/ratelimit/store";
import type { Kernel } from "../module";
import { emailKey } from "../../shared/email";
import { endSessions, type SessionRevocations } from "../sessions";
import type { AccountsSettings } from "./accounts.service";
import { passwordProblems } from "./password-policy";
import { InputCheck, emailArgument } from "../../shared/input-check";

const RESET_TTL_MS = 30 * 60_000;
const HOUR = 3_600_000;
/** Product default: 5 reset requests per hour, per address and per client IP. */
const RESET_PER_HOUR = 5;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The user's reset links not yet used stop working: the password they were asked for to replace has been replaced. Returns how many. */
async function voidResetTokens(tx: Tx, userId: string): Promise<number> {
  return (await tx.passwordResetToken.deleteMany({ where: { userId, usedAt: null } })).count;
}

export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
  signOutOtherSessions?: boolean | null;
}

/** What the service uses, by name. */
export type PasswordsServiceDeps = Pick<Kernel, "prisma" | "unitOfWork" | "rateLimits" | "clock" | "background"> & { hasher: PasswordHasher; revocations: SessionRevocations };

/** Password change (current password required) and reset by emailed link. */
export class PasswordsService {
  constructor(
    private readonly deps: PasswordsServiceDeps,
    private readonly settings: AccountsSettings,
  ) {}

  private checkNew(field: string, password: string, user: { email: string; name: string | null }): void {
    const check = new InputCheck("input");
    for (const message of passwordProblems(password, this.settings.passwordPolicy, user)) check.problem(field, message);
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);
  }

  async changePassword(viewer: Viewer, input: ChangePasswordInput, origin: Origin): Promise<true> {
    await consume(this.deps.rateLimits, `password-change:${viewer.userId}`, 5, 15 * 60_000);
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: viewer.userId } });
    if (!(await this.deps.hasher.verify(input.currentPassword, user.passwordHash))) {
      await this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "password.change", outcome: "denied", subjectType: "user", subjectId: user.id }));
      throw new ForbiddenError("Current password is incorrect");
    }
    this.checkNew("newPassword", input.newPassword, user);
    const passwordHash = await this.deps.hasher.hash(input.newPassword);
    const ended = await this.deps.unitOfWork.run(origin, async (scope) => {
      await scope.tx.user.update({ where: { id: user.id }, data: { passwordHash } });
      const resetLinksVoided = await voidResetTokens(scope.tx, user.id);
      const ids = input.signOutOtherSessions ? await endSessions(scope, user.id, "password_changed", { except: viewer.sessionId }, this.deps.clock.now()) : [];
      scope.publish("password.changed", user.id, { otherSessionsEnded: ids.length });
      scope.notify({ to: user.email, template: "password-changed", locale: user.locale, params: {} });
      scope.audit({ action: "password.change", subjectType: "user", subjectId: user.id, metadata: { otherSessionsEnded: ids.length, resetLinksVoided } });
      return ids;
    });
    await this.deps.revocations.markRevoked(ended);
    return true;
  }

  /**
   * Always true, whether or not the account exists, and in the same time (SECURITY 31): after the
   * rate limits the answer is given and the rest (lookup, token, mail through the outbox, audit)
   * runs in the background. The link is built from PUBLIC_URL only.
   */
  async requestPasswordReset(rawEmail: string, origin: Origin): Promise<true> {
    await consume(this.deps.rateLimits, `reset:ip:${origin.ipAddress ?? "unknown"}`, RESET_PER_HOUR, HOUR);
    const email = emailArgument(rawEmail);
    await consume(this.deps.rateLimits, `reset:email:${await emailKey(this.deps.prisma, email)}`, RESET_PER_HOUR, HOUR);
    await this.deps.background.run("password reset request", () => this.issueResetToken(email, origin));
    return true;
  }

  /** A reset token and its mail for an account that may use one; a request for an unknown address is audited without it. */
  private async issueResetToken(email: string, origin: Origin): Promise<void> {
    const user = await this.deps.prisma.user.findFirst({ where: { email, deletedAt: null, status: { in: ["ACTIVE", "PENDING_VERIFICATION"] } } });
    const token = newOpaqueToken();
    const expiresAt = new Date(this.deps.clock.now().getTime() + RESET_TTL_MS);
    await this.deps.unitOfWork.run(origin, async (scope) => {
      if (!user) {
        scope.audit({ action: "password.reset_request", outcome: "failure", metadata: { reason: "unknown_account" } });
        return;
      }
      await scope.tx.passwordResetToken.create({ data: { userId: user.id, tokenHash: hashToken(token), expiresAt } });
      scope.notify({ to: user.email, template: "password-reset", locale: user.locale, params: { token, link: `${this.settings.publicUrl}/reset-password?token=${token}` } });
      scope.publish("password.reset_requested", user.id, { expiresAt: expiresAt.toISOString() });
      scope.audit({ action: "password.reset_request", subjectType: "user", subjectId: user.id });
    });
  }

  /** Sets the password with a reset token (once, within 30 minutes), voids the user's other reset links and ends every session. No login. */
  async resetPassword(input: { token: string; newPassword: string }, origin: Origin): Promise<true> {
    const invalid = BadUserInputError.field("input.token", "is invalid or has expired");
    if (!TOKEN_SHAPE.test(input.token)) throw invalid;
    const now = this.deps.clock.now();
    const tokenHash = hashToken(input.token);
    const pending = await this.deps.prisma.passwordResetToken.findUnique({ where: { tokenHash }, include: { user: true } });
    if (!pending || pending.usedAt || pending.expiresAt <= now || pending.user.deletedAt) throw invalid;
    this.checkNew("newPassword", input.newPassword, pending.user);
    const passwordHash = await this.deps.hasher.hash(input.newPassword);
    const ended = await this.deps.unitOfWork.run(origin, async (scope) => {
      const { count } = await scope.tx.passwordResetToken.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      if (count !== 1) throw invalid;
      const user = pending.user;
      await scope.tx.user.update({ where: { id: user.id }, data: { passwordHash } });
      const resetLinksVoided = await voidResetTokens(scope.tx, user.id);
      const ids = await endSessions(scope, user.id, "password_reset", {}, now);
      scope.publish("password.reset_completed", user.id, { sessionsEnded: ids.length });
      scope.notify({ to: user.email, template: "password-changed", locale: user.locale, params: {} });
      scope.audit({ action: "password.reset", subjectType: "user", subjectId: user.id, metadata: { sessionsEnded: ids.length, resetLinksVoided } });
      return ids;
    });
    await this.deps.revocations.markRevoked(ended);
    return true;
  }
}
