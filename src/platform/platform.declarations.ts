import type { Declarations } from "../modules/module";
import { auditChainEvents } from "./audit/audit.events";
import { signingKeyRows } from "./jwt/keys";
import { platformConfig } from "./platform.config";

/** The platform's own declarations: its variables, the audit chain's event and the sealed JWT signing keys. */
export const platformDeclarations = {
  events: auditChainEvents,
  config: platformConfig,
  sealedStores: { signing_keys: signingKeyRows },
} as const satisfies Declarations;
