import type { Declarations } from "../module";
import { tradingAccountsConfig } from "./trading-accounts.config";
import { tradingAccountsEvents } from "./trading-accounts.events";
import { tradingAccountsNotifications } from "./trading-accounts.notifications";
import { tradingAccountsSealedStores } from "./trading-accounts.sealed";
import { tradingAccountsSingleUseFields } from "./trading-accounts.single-use";

export const tradingAccountsDeclarations = {
  events: tradingAccountsEvents,
  config: tradingAccountsConfig,
  notifications: tradingAccountsNotifications,
  sealedStores: tradingAccountsSealedStores,
  singleUseFields: tradingAccountsSingleUseFields,
} as const satisfies Declarations;
