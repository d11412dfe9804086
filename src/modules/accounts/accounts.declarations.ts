import type { Declarations } from "../module";
import { accountsConfig } from "./accounts.config";
import { accountsEvents } from "./accounts.events";
import { accountsNotifications } from "./accounts.notifications";
import { accountsSingleUseFields } from "./accounts.single-use";

export const accountsDeclarations = {
  events: accountsEvents,
  config: accountsConfig,
  notifications: accountsNotifications,
  singleUseFields: accountsSingleUseFields,
} as const satisfies Declarations;
