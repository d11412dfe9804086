import type { WorkScope } from "../../platform/events/unit-of-work";
import type { Kernel, Module } from "../module";
import type { UsersApi } from "../users";
import { preferencesPersonalData } from "./preferences.personal-data";
import { PreferencesResolver } from "./preferences.resolver";
import { PreferencesService } from "./preferences.service";

export interface PreferencesDeps {
  users: Pick<UsersApi, "personalData">;
  /**
   * What a user is to a trading account, null when they may not see it: `roleOf` of
   * trading-accounts/access.ts (a function, not that module's api, which needs this one's).
   */
  tradingAccountRole: (userId: string, accountId: string) => Promise<string | null>;
}

export interface PreferencesApi {
  /**
   * Sets (accountId) or clears (null) the user's default trading account inside the caller's unit
   * of work, with user.preferences.updated when it changes. The caller has checked that the user
   * may see the account (updateTradingAccount's isDefault).
   */
  setDefaultTradingAccount(scope: WorkScope, userId: string, accountId: string | null): Promise<void>;
  /** Each user's default trading account, in order; null when none is set or they may no longer see it. */
  defaultTradingAccountOf(userIds: readonly string[]): Promise<(string | null)[]>;
}

/** A user's theme, default trading account, watchlists and notification topics; the relay asks it before sending an email. */
export function preferencesModule(kernel: Kernel, deps: PreferencesDeps): Module<PreferencesApi> {
  const service = new PreferencesService({ ...kernel, tradingAccountRole: deps.tradingAccountRole });
  kernel.handlers.screenNotifications(service.screen);
  deps.users.personalData.register(preferencesPersonalData(kernel.prisma));
  return {
    name: "preferences",
    api: {
      setDefaultTradingAccount: (scope, userId, accountId) => service.setDefaultTradingAccount(scope, userId, accountId),
      defaultTradingAccountOf: (userIds) => service.defaultTradingAccountOf(userIds),
    },
    resolvers: [new PreferencesResolver(service)],
  };
}

export { NOTIFICATION_CHANNELS, NOTIFICATION_TOPICS, type NotificationChannel, type NotificationTopic } from "./preferences.model";
