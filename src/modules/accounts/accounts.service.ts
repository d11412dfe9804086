import { randomUUID } from "node:crypto";
import type { Config } from "../../config";
import { BadUserInputError, NotFoundError } from "../../shared/errors";
import { join, raw, sql } from "../../platform/db/database";
import type { PasswordHasher } from "../../platform/crypto/passwords";
import type { Origin, WorkEffects, WorkScope } from "../../platform/events/unit-of-work";
import type { Kernel } from "../module";
import { USER_ROW_COLUMNS, privateUser, type User, type UserRow } from "../users";
import type { Viewer } from "../../graphql/context";
import { RegistrationStatus, type RegisterInput, type UpdateProfileInput } from "./account.types";
import { passwordProblems } from "./password-policy";
import { InputCheck } from "../../shared/input-check";
import { accountTokens, type AccountTokenPurpose } from "./account-tokens";
import { accountsLimits, emailRequest } from "./accounts.limits";

export interface AccountsSettings {
  publicUrl: string;
  passwordPolicy: Config["PASSWORD_POLICY"];
  emailVerificationTtlMs: number;
}

/** The users column of each profile field. */
const COLUMN_OF = { name: "name", avatarUrl: "avatar_url", phone: "phone", locale: "locale", timezone: "timezone", preferredCurrency: "preferred_currency" } as const;

/** What the service uses, by name. */
export type AccountsServiceDeps = Pick<Kernel, "prisma" | "unitOfWork" | "rateLimits" | "clock" | "background"> & {
  hasher: PasswordHasher;
  registered: (scope: WorkEffects, userId: string) => Promise<void>;
};

/** Registration and email verification. Enumeration-safe: a taken email answers like a new one. */
export class AccountsService {
  private readonly tokens = accountTokens(this.deps.clock);

  constructor(
    private readonly deps: AccountsServiceDeps,
    private readonly settings: AccountsSettings,
  ) {}

  async register(input: RegisterInput, origin: Origin): Promise<{ status: RegistrationStatus }> {
    await accountsLimits.register.consume(this.deps, { ip: origin });
    const check = new InputCheck("input");
    const email = check.email("email", input.email);
    const name = check.text("name", input.name, 100);
    const locale = check.locale("locale", input.locale);
    const timezone = check.timezone("timezone", input.timezone);
    const preferredCurrency = check.currency("preferredCurrency", input.preferredCurrency);
    for (const message of passwordProblems(input.password, this.settings.passwordPolicy, { email, name })) check.problem("password", message);
    if (check.problems.length > 0) throw new BadUserInputError(check.problems);

    // Whether or not the email is taken, both paths cost one bcrypt and run the same statement (an
    // insert that does nothing on a taken address) in one audited unit of work with one mail.
    const passwordHash = await this.deps.hasher.hash(input.password);
    const { token, tokenHash, expiresAt } = this.tokens.mint(this.settings.emailVerificationTtlMs);
    await this.deps.unitOfWork.runSql(origin, async (scope) => {
      const [row] = await scope.query<{ id: string; email: string; locale: string; created: boolean }>(sql`
        WITH created AS (
          INSERT INTO users (id, email, password_hash, name, locale, timezone, preferred_currency, updated_at)
          VALUES (${randomUUID()}::uuid, ${email}, ${passwordHash}, ${name}, ${locale ?? "en"}, ${timezone ?? "UTC"}, ${preferredCurrency ?? "USD"}, now())
          ON CONFLICT (email) DO NOTHING
          RETURNING id, email::text, locale
        ), token AS (
          INSERT INTO single_use_tokens (id, purpose, user_id, token_hash, expires_at)
          SELECT ${randomUUID()}::uuid, ${"email-verification" satisfies AccountTokenPurpose}, id, ${tokenHash}, ${expiresAt} FROM created
        )
        SELECT id, email, locale, true AS created FROM created
        UNION ALL
        SELECT id, email::text, locale, false FROM users WHERE email = ${email}::citext AND NOT EXISTS (SELECT FROM created)`);
      if (row?.created) {
        scope.publish("user.registered", row.id, { email: row.email, locale: row.locale });
        await this.deps.registered(scope, row.id);
        scope.audit({ action: "user.register", subjectType: "user", subjectId: row.id });
        this.verificationMail(scope, row, token);
        return;
      }
      // Taken; its owner is told. (No row: a registration of the same address committed after this
      // statement began, so its snapshot cannot see the user: read it now.)
      const [existing] = row ? [row] : await scope.query<{ id: string; email: string; locale: string }>(sql`SELECT id, email::text, locale FROM users WHERE email = ${email}::citext`);
      if (!existing) throw new Error("a registration's address is neither new nor taken");
      scope.notify({ to: existing.email, template: "account-exists", locale: existing.locale, params: { link: `${this.settings.publicUrl}/login` } });
      scope.audit({ action: "user.register", outcome: "failure", subjectType: "user", subjectId: existing.id, metadata: { reason: "email_taken" } });
    });
    return { status: RegistrationStatus.VERIFICATION_EMAIL_SENT };
  }

  /** Marks the email verified (PENDING_VERIFICATION -> ACTIVE). The token works once, until it expires. */
  async verifyEmail(token: string, origin: Origin): Promise<User> {
    const invalid = BadUserInputError.field("token", "is invalid or has expired");
    return this.deps.unitOfWork.run(origin, async (scope) => {
      const userId = (await this.tokens.consume(scope.tx, "email-verification", token))?.userId;
      if (!userId) throw invalid;
      const now = this.deps.clock.now();
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
    return emailRequest(this.deps, { limit: accountsLimits.resend, task: "verification email" }, rawEmail, origin, (email) => this.resendVerification(email, origin));
  }

  /** A new verification mail for an account still waiting for one (in the background: the answer is the same either way). */
  private async resendVerification(email: string, origin: Origin): Promise<void> {
    const user = await this.deps.prisma.user.findFirst({ where: { email, status: "PENDING_VERIFICATION", deletedAt: null } });
    if (!user) return;
    await this.deps.unitOfWork.run(origin, async (scope) => {
      await this.sendVerification(scope, user);
      scope.audit({ action: "user.resend_verification", subjectType: "user", subjectId: user.id });
    });
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
    const data = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as Partial<Record<keyof typeof COLUMN_OF, string | null>>;
    return this.deps.unitOfWork.runSql(origin, async (scope) => {
      const fields = Object.keys(data) as (keyof typeof COLUMN_OF)[];
      const assignments = fields.map((field) => sql`${raw(COLUMN_OF[field])} = ${data[field]}`);
      const [user] = await scope.query<UserRow>(sql`
        UPDATE users SET ${join([...assignments, sql`updated_at = now()`], ", ")} WHERE id = ${viewer.userId}::uuid RETURNING ${USER_ROW_COLUMNS}`);
      if (!user) throw new NotFoundError("user");
      if (fields.length > 0) {
        scope.publish("user.updated", user.id, { fields });
        scope.audit({ action: "user.update_profile", subjectType: "user", subjectId: user.id, metadata: { fields } });
      }
      return privateUser(user, viewer.roles);
    });
  }

  private async sendVerification(scope: WorkScope, user: { id: string; email: string; locale: string }): Promise<void> {
    const { token } = await this.tokens.issue(scope.tx, "email-verification", user.id, this.settings.emailVerificationTtlMs);
    this.verificationMail(scope, user, token);
  }

  private verificationMail(scope: WorkEffects, user: { email: string; locale: string }, token: string): void {
    const link = `${this.settings.publicUrl}/verify-email?token=${token}`;
    scope.notify({ to: user.email, template: "verify-email", locale: user.locale, params: { token, link } });
  }
}
