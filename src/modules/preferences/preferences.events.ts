import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";
import { PREFERENCE_FIELDS } from "./preferences.model";

/** Events of a user's preferences: which fields changed, never their values (no watchlist symbols). */
export const preferencesEvents = {
  "user.preferences.updated": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user's preferences change (updatePreferences, or a trading account made their default): the fields that changed, not their values.",
    payload: z.object({ fields: z.array(z.enum(PREFERENCE_FIELDS)).min(1) }).strict(),
  },
} as const satisfies EventCatalogue;
