import { BadUserInputError, ForbiddenError } from "../../shared/errors";
import type { Viewer } from "../../graphql/context";
import type { PasswordHasher } from "../../platform/crypto/passwords";
import type { Origin, WorkScope } from "../../platform/events/unit-of-work";
import type { Kernel } from "../module";
import { endSessions, type SessionRevocations } from "../sessions";
import type { UserRow } from "../users";
import { accountTokens } from "./account-tokens";
import type { AccountsSettings } from "./accounts.service";
import { accountsLimits, emailRequest } from "./accounts.limits";
import { passwordProblems } from "./password-policy";
import { InputCheck } from "../../shared/input-check";
import { MINUTE } from "../../shared/time";

const RESET_TTL_MS = 30 * MINUTE;

export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
  signOutOtherSessions?: boolean | null;
}

/** What the service uses, by name. */
export type PasswordsServiceDeps = Pick<Kernel, "prisma" | "unitOfWork" | "rateLimits" | "clock" | "background"> & { hasher: PasswordHasher; revocations: SessionRevocations };

/** Password change (current password required) and reset by emailed link. */
export class PasswordsService {
  private readonly tokens = accountTokens(this.deps.clock);

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
    await accountsLimits.passwordChange.consume(this.deps, { user: viewer.userId });
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: viewer.userId } });
    if (!(await this.deps.hasher.verify(input.currentPassword, user.passwordHash))) {
      await this.deps.unitOfWork.run(origin, async (scope) => scope.audit({ action: "password.change", outcome: "denied", subjectType: "user", subjectId: user.id }));
      throw new ForbiddenError("Current password is incorrect");
    }
    this.checkNew("newPassword", input.newPassword, user);
    return this.replacePassword(origin, user, input.newPassword, {
      endSessions: (scope) => (input.signOutOtherSessions ? endSessions(scope, user.id, "password_changed", { except: viewer.sessionId }, this.deps.clock.now()) : Promise.resolve([])),
      record: (scope, ended, resetLinksVoided) => {
        scope.publish("password.changed", user.id, { otherSessionsEnded: ended });
        scope.audit({ action: "password.change", subjectType: "user", subjectId: user.id, metadata: { otherSessionsEnded: ended, resetLinksVoided } });
      },
    });
  }

  /**
   * The tail of a change and of a reset, in one unit of work: the new hash, the user's unused reset
   * links voided (the password they were asked for to replace has been replaced), the sessions
   * `how` ends, the event and audit record it writes, the "password changed" mail; the ended
   * sessions are marked revoked after commit.
   */
  private async replacePassword(
    origin: Origin,
    user: Pick<UserRow, "id" | "email" | "locale">,
    newPassword: string,
    how: {
      /** Runs first: throws when the change may no longer happen. */
      claim?: (scope: WorkScope) => Promise<void>;
      endSessions: (scope: WorkScope) => Promise<string[]>;
      record: (scope: WorkScope, sessionsEnded: number, resetLinksVoided: number) => void;
    },
  ): Promise<true> {
    const passwordHash = await this.deps.hasher.hash(newPassword);
    const ended = await this.deps.unitOfWork.run(origin, async (scope) => {
      await how.claim?.(scope);
      await scope.tx.user.update({ where: { id: user.id }, data: { passwordHash } });
      const resetLinksVoided = await this.tokens.voidUnused(scope.tx, "password-reset", user.id);
      const ids = await how.endSessions(scope);
      how.record(scope, ids.length, resetLinksVoided);
      scope.notify({ to: user.email, template: "password-changed", locale: user.locale, params: {} });
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
    return emailRequest(this.deps, { limit: accountsLimits.reset, task: "password reset request" }, rawEmail, origin, (email) => this.issueResetToken(email, origin));
  }

  /** A reset token and its mail for an account that may use one; a request for an unknown address is audited without it. */
  private async issueResetToken(email: string, origin: Origin): Promise<void> {
    const user = await this.deps.prisma.user.findFirst({ where: { email, deletedAt: null, status: { in: ["ACTIVE", "PENDING_VERIFICATION"] } } });
    await this.deps.unitOfWork.run(origin, async (scope) => {
      if (!user) {
        scope.audit({ action: "password.reset_request", outcome: "failure", metadata: { reason: "unknown_account" } });
        return;
      }
      const { token, expiresAt } = await this.tokens.issue(scope.tx, "password-reset", user.id, RESET_TTL_MS);
      scope.notify({ to: user.email, template: "password-reset", locale: user.locale, params: { token, link: `${this.settings.publicUrl}/reset-password?token=${token}` } });
      scope.publish("password.reset_requested", user.id, { expiresAt: expiresAt.toISOString() });
      scope.audit({ action: "password.reset_request", subjectType: "user", subjectId: user.id });
    });
  }

  /** Sets the password with a reset token (once, within 30 minutes), voids the user's other reset links and ends every session. No login. */
  async resetPassword(input: { token: string; newPassword: string }, origin: Origin): Promise<true> {
    const invalid = BadUserInputError.field("input.token", "is invalid or has expired");
    const userId = (await this.tokens.peek(this.deps.prisma, "password-reset", input.token))?.userId;
    const user = userId ? await this.deps.prisma.user.findUnique({ where: { id: userId } }) : null;
    if (!user || user.deletedAt) throw invalid;
    this.checkNew("newPassword", input.newPassword, user);
    return this.replacePassword(origin, user, input.newPassword, {
      claim: async (scope) => {
        if ((await this.tokens.consume(scope.tx, "password-reset", input.token))?.userId !== user.id) throw invalid;
      },
      endSessions: (scope) => endSessions(scope, user.id, "password_reset", {}, this.deps.clock.now()),
      record: (scope, ended, resetLinksVoided) => {
        scope.publish("password.reset_completed", user.id, { sessionsEnded: ended });
        scope.audit({ action: "password.reset", subjectType: "user", subjectId: user.id, metadata: { sessionsEnded: ended, resetLinksVoided } });
      },
    });
  }
}
