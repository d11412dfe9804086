import type { Declarations } from "../module";
import { mfaConfig } from "./mfa.config";
import { mfaEvents } from "./mfa.events";
import { mfaNotifications } from "./mfa.notifications";
import { mfaSealedStores } from "./mfa.sealed";
import { mfaSingleUseFields } from "./mfa.single-use";

export const mfaDeclarations = {
  events: mfaEvents,
  config: mfaConfig,
  notifications: mfaNotifications,
  singleUseFields: mfaSingleUseFields,
  sealedStores: mfaSealedStores,
} as const satisfies Declarations;
