import type { PasswordHasher } from "../../platform/crypto/passwords";
import type { Kernel, Module } from "../module";
import type { SessionsApi } from "../sessions";
import { AccountsResolver } from "./accounts.resolver";
import { AccountsService } from "./accounts.service";
import { PasswordsService } from "./passwords.service";

export interface AccountsDeps {
  hasher: PasswordHasher;
  sessions: SessionsApi;
}

/** Registration, email verification, profile, password change and reset. */
export function accountsModule(kernel: Kernel, deps: AccountsDeps): Module<undefined> {
  const { config } = kernel;
  const settings = { publicUrl: config.PUBLIC_URL, passwordPolicy: config.PASSWORD_POLICY, emailVerificationTtlMs: config.EMAIL_VERIFICATION_TTL_S * 1000 };
  const accounts = new AccountsService(kernel.prisma, kernel.unitOfWork, deps.hasher, kernel.rateLimits, kernel.clock, settings, kernel.background);
  const passwords = new PasswordsService(kernel.prisma, kernel.unitOfWork, deps.hasher, deps.sessions.revocations, kernel.rateLimits, kernel.clock, settings, kernel.background);
  return { name: "accounts", api: undefined, resolvers: [new AccountsResolver(accounts, passwords)] };
}
