import type { Declarations } from "../module";
import { sessionsConfig } from "./sessions.config";
import { sessionsEvents } from "./sessions.events";
import { sessionsNotifications } from "./sessions.notifications";
import { sessionsSingleUseFields } from "./sessions.single-use";

export const sessionsDeclarations = {
  events: sessionsEvents,
  config: sessionsConfig,
  notifications: sessionsNotifications,
  singleUseFields: sessionsSingleUseFields,
} as const satisfies Declarations;
