import type { AuthzApi } from "../authz";
import type { Kernel, Module } from "../module";
import type { UsersApi } from "../users";
import { CredentialVault } from "./credentials";
import { kiteBroker } from "./kite/kite-broker";
import { tradingAccountsPersonalData } from "./trading-accounts.personal-data";
import { TradingAccountsResolver } from "./trading-accounts.resolver";
import { TradingAccountsService, type DefaultAccounts } from "./trading-accounts.service";

export interface TradingAccountsDeps {
  authz: Pick<AuthzApi, "guardResource">;
  users: Pick<UsersApi, "personalData" | "publicUsers">;
  /** The preferences module's default account. */
  defaults: DefaultAccounts;
}

export interface TradingAccountsApi {
  /** The daily sweep (a job runs it at 00:30 UTC, 06:00 IST; tests may call it). */
  expireSessions(): Promise<number>;
}

const EXPIRY_JOB = "trading-accounts.expire-sessions";

/** Linked brokerage accounts (Kite Connect): credentials sealed per account, sharing, the broker session for order services. */
export function tradingAccountsModule(kernel: Kernel, deps: TradingAccountsDeps): Module<TradingAccountsApi> {
  const { config } = kernel;
  const service = new TradingAccountsService({
    ...kernel,
    broker: kiteBroker({ apiBaseUrl: config.KITE_API_BASE_URL, timeoutMs: config.KITE_API_TIMEOUT_SECONDS * 1000, maxRetries: config.KITE_API_MAX_RETRIES }),
    credentials: new CredentialVault(kernel.vault),
    defaults: deps.defaults,
  });
  deps.authz.guardResource("trading_account", (userId, accountId, permission) => service.allows(userId, accountId, permission));
  deps.users.personalData.register(tradingAccountsPersonalData(kernel.prisma, service));
  kernel.jobs.define(EXPIRY_JOB, async () => void (await service.expireSessions()));
  kernel.jobs.daily(EXPIRY_JOB, "00:30");
  return {
    name: "trading-accounts",
    api: { expireSessions: () => service.expireSessions() },
    resolvers: [new TradingAccountsResolver(service, deps.users.publicUsers)],
  };
}
