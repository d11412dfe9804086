import type { Declarations } from "../module";
import { clientsConfig } from "./clients.config";
import { clientsEvents } from "./clients.events";

export const clientsDeclarations = { events: clientsEvents, config: clientsConfig } as const satisfies Declarations;
