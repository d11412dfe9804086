import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the trading-accounts module sends. */
export const tradingAccountsNotifications = {
  "trading-account-reauth": { topic: "trading", description: "A linked brokerage account's session ended; log in at the broker again (params: accountId, broker, brokerUserId, nickname)" },
} as const satisfies NotificationTemplates;
