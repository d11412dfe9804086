import type { Config } from "../../config";
import { BadUserInputError } from "../../graphql/errors";
import type { Clock } from "../../platform/clock";
import { hashToken, newOpaqueToken } from "../../platform/crypto/tokens";
import type { PasswordHasher } from "../../platform/crypto/passwords";
import type { Prisma } from "../../platform/db/database";
import type { Origin, UnitOfWork, WorkScope } from "../../platform/events/unit-of-work";
import { consume, type RateLimitStore } from "../../platform/ratelimit/store";
import { privateUser } from "../users/user.service";
import type { User } from "../users/user.type";
import type { Viewer } from "../../graphql/context";
import { RegistrationStatus, type RegisterInput, type UpdateProfileInput } from "./account.types";
import { passwordProblems } from "./password-policy";
import { InputCheck, emailArgument } from "./validation";

const HOUR = 3_600_000;
/** Product defaults: registrations per IP per hour; verification emails per address per hour. */
const REGISTER_PER_IP_PER_HOUR = 5;
const RESEND_PER_IP_PER_HOUR = 5;
const RESEND_PER_EMAIL_PER_HOUR = 3;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface AccountsSettings {
  publicUrl: string;
  passwordPolicy: Config["PASSWORD_POLICY"];
  emailVerificationTtlMs: number;
}

/** Registration and email verification. Enumeration-safe: a taken email answers like a new one. */
export class AccountsService {
  constructor(
    private readonly prisma: Prisma,
    private readonly unitOfWork: UnitOfWork,
    private readonly hasher: PasswordHasher,
    private readonly rateLimits: RateLimitStore,
    private readonly clock: Clock,
    private readonly settings: AccountsSettings,
  ) {}

  async register(input: RegisterInput, origin: Origin): Promise<{ status: RegistrationStatus }> {
    await consume(this.rateLimits, `register:ip:${origin.ipAddress ?? "unknown"}`, REGISTER_PER_IP_PER_HOUR, HOUR);
    const check = new InputCheck("input");
    const email = check.email("email", input.email);
    const name = check.text("name", input.name, 100);
    const locale = check.locale("locale", input.locale);
    const timezone = check.timezone("timezone", input.timezone);
    const preferredCurrency = check.currency("preferredCurrency", input.preferredCurrency);
    for (const message of passwordProblems(input.password, this.settings.passwordPolicy, { email, name })) check.problem("password", message);
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);

    // Hashed whether or not the email is taken: both paths cost one bcrypt.
    const passwordHash = await this.hasher.hash(input.password);
    const create = () =>
      this.unitOfWork.run(origin, async (scope) => {
        const existing = await scope.tx.user.findUnique({ where: { email }, select: { id: true, email: true, locale: true } });
        if (existing) {
          scope.notify({ to: existing.email, template: "account-exists", locale: existing.locale, params: { link: `${this.settings.publicUrl}/login` } });
          scope.audit({ action: "user.register", outcome: "failure", subjectType: "user", subjectId: existing.id, metadata: { reason: "email_taken" } });
          return;
        }
        const user = await scope.tx.user.create({
          data: { email, passwordHash, name, locale: locale ?? "en", timezone: timezone ?? "UTC", preferredCurrency: preferredCurrency ?? "USD" },
        });
        scope.publish("user.registered", user.id, { email: user.email, locale: user.locale });
        scope.audit({ action: "user.register", subjectType: "user", subjectId: user.id });
        await this.sendVerification(scope, user);
      });
    try {
      await create();
    } catch (error) {
      // Two registrations of one email at once: the loser answers as for a taken email.
      if ((error as { code?: string }).code !== "P2002") throw error;
      await create();
    }
    return { status: RegistrationStatus.VERIFICATION_EMAIL_SENT };
  }

  /** Marks the email verified (PENDING_VERIFICATION -> ACTIVE). The token works once, until it expires. */
  async verifyEmail(token: string, origin: Origin): Promise<User> {
    const invalid = BadUserInputError.field("token", "is invalid or has expired");
    if (!TOKEN_SHAPE.test(token)) throw invalid;
    return this.unitOfWork.run(origin, async (scope) => {
      const now = this.clock.now();
      const tokenHash = hashToken(token);
      const { count } = await scope.tx.emailVerificationToken.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      if (count !== 1) throw invalid;
      const { userId } = await scope.tx.emailVerificationToken.findUniqueOrThrow({ where: { tokenHash }, select: { userId: true } });
      const current = await scope.tx.user.findUniqueOrThrow({ where: { id: userId } });
      if (current.deletedAt || current.status === "SUSPENDED" || current.status === "DELETED") throw invalid;
      const user = await scope.tx.user.update({
        where: { id: userId },
        data: { emailVerifiedAt: current.emailVerifiedAt ?? now, status: current.status === "PENDING_VERIFICATION" ? "ACTIVE" : current.status },
      });
      scope.publish("user.email_verified", user.id, { email: user.email });
      scope.audit({ action: "user.verify_email", subjectType: "user", subjectId: user.id });
      return privateUser(user, []);
    });
  }

  /** Sends a new link to an account still waiting for verification. Always true (no enumeration). */
  async resendVerificationEmail(rawEmail: string, origin: Origin): Promise<true> {
    await consume(this.rateLimits, `resend:ip:${origin.ipAddress ?? "unknown"}`, RESEND_PER_IP_PER_HOUR, HOUR);
    const email = emailArgument(rawEmail);
    await consume(this.rateLimits, `resend:email:${email.toLowerCase()}`, RESEND_PER_EMAIL_PER_HOUR, HOUR);
    const user = await this.prisma.user.findFirst({ where: { email, status: "PENDING_VERIFICATION", deletedAt: null } });
    if (user) {
      await this.unitOfWork.run(origin, async (scope) => {
        await this.sendVerification(scope, user);
        scope.audit({ action: "user.resend_verification", subjectType: "user", subjectId: user.id });
      });
    }
    return true;
  }

  /** Changes the caller's own profile; every bad field is named, nothing is written unless all are good. */
  async updateProfile(viewer: Viewer, input: UpdateProfileInput, origin: Origin): Promise<User> {
    const check = new InputCheck("input");
    const nameInput = input.name === undefined ? undefined : check.text("name", input.name ?? "", 100);
    const changes = {
      name: nameInput,
      avatarUrl: check.httpsUrl("avatarUrl", input.avatarUrl),
      phone: check.phone("phone", input.phone),
      locale: check.locale("locale", input.locale),
      timezone: check.timezone("timezone", input.timezone),
      preferredCurrency: check.currency("preferredCurrency", input.preferredCurrency),
    };
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);
    const data = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
    return this.unitOfWork.run(origin, async (scope) => {
      const user = await scope.tx.user.update({ where: { id: viewer.userId }, data });
      const fields = Object.keys(data) as ("name" | "avatarUrl" | "phone" | "locale" | "timezone" | "preferredCurrency")[];
      if (fields.length > 0) {
        scope.publish("user.updated", user.id, { fields });
        scope.audit({ action: "user.update_profile", subjectType: "user", subjectId: user.id, metadata: { fields } });
      }
      return privateUser(user, viewer.roles);
    });
  }

  private async sendVerification(scope: WorkScope, user: { id: string; email: string; locale: string }): Promise<void> {
    const token = newOpaqueToken();
    await scope.tx.emailVerificationToken.create({
      data: { userId: user.id, tokenHash: hashToken(token), expiresAt: new Date(this.clock.now().getTime() + this.settings.emailVerificationTtlMs) },
    });
    const link = `${this.settings.publicUrl}/verify-email?token=${token}`;
    scope.notify({ to: user.email, template: "verify-email", locale: user.locale, params: { token, link } });
  }
}
