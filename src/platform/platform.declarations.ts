import type { Declarations } from "../modules/module";
import { auditChainEvents } from "./audit/audit.events";
import { platformConfig } from "./platform.config";

/** The platform's own declarations: its variables and the audit chain's event. */
export const platformDeclarations = { events: auditChainEvents, config: platformConfig } as const satisfies Declarations;
