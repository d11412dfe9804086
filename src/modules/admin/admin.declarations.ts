import type { Declarations } from "../module";
import { adminEvents } from "./admin.events";
import { adminNotifications } from "./admin.notifications";

export const adminDeclarations = { events: adminEvents, notifications: adminNotifications } as const satisfies Declarations;
