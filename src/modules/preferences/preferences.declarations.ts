import type { Declarations } from "../module";
import { preferencesEvents } from "./preferences.events";

export const preferencesDeclarations = {
  events: preferencesEvents,
} as const satisfies Declarations;
