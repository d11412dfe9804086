import type { Declarations } from "../module";
import { authzEvents } from "./authz.events";

export const authzDeclarations = { events: authzEvents } as const satisfies Declarations;
