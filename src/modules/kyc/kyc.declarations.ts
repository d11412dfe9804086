import type { Declarations } from "../module";
import { kycConfig } from "./kyc.config";
import { kycEvents } from "./kyc.events";
import { kycNotifications } from "./kyc.notifications";
import { kycSealedStores } from "./kyc.sealed";

export const kycDeclarations = {
  events: kycEvents,
  config: kycConfig,
  notifications: kycNotifications,
  sealedStores: kycSealedStores,
} as const satisfies Declarations;
