import type { PasswordHasher } from "../../platform/crypto/passwords";
import type { WorkEffects } from "../../platform/events/unit-of-work";
import type { Kernel, Module } from "../module";
import type { SessionsApi } from "../sessions";
import type { UsersApi } from "../users";
import { accountsPersonalData } from "./accounts.personal-data";
import { AccountsResolver } from "./accounts.resolver";
import { AccountsService } from "./accounts.service";
import { PasswordsService } from "./passwords.service";

export interface AccountsDeps {
  hasher: PasswordHasher;
  sessions: SessionsApi;
  users: Pick<UsersApi, "personalData">;
  /** What other modules do for a new account, in the registration's unit of work (authz: the default role). */
  registered: (scope: WorkEffects, userId: string) => Promise<void>;
}

export interface AccountsApi {
  accounts: AccountsService;
  passwords: PasswordsService;
}

/** Registration, email verification, profile, password change and reset. */
export function accountsModule(kernel: Kernel, deps: AccountsDeps): Module<AccountsApi> {
  const { config } = kernel;
  const settings = { publicUrl: config.PUBLIC_URL, passwordPolicy: config.PASSWORD_POLICY, emailVerificationTtlMs: config.EMAIL_VERIFICATION_TTL_S * 1000 };
  const accounts = new AccountsService({ ...kernel, hasher: deps.hasher, registered: deps.registered }, settings);
  deps.users.personalData.register(accountsPersonalData(kernel.prisma));
  const passwords = new PasswordsService({ ...kernel, hasher: deps.hasher, revocations: deps.sessions.revocations }, settings);
  return { name: "accounts", api: { accounts, passwords }, resolvers: [new AccountsResolver(accounts, passwords)] };
}
