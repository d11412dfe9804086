import { ALWAYS_EMAILED_TOPIC, NOTIFICATION_TOPICS, type NotificationTopic } from "../../platform/events/notifications";

export { NOTIFICATION_TOPICS, type NotificationTopic };

export const THEMES = ["LIGHT", "DARK", "SYSTEM"] as const;
export type Theme = (typeof THEMES)[number];
/** Where a person may be told something: every template of the `notifications` queue is an EMAIL. */
export const NOTIFICATION_CHANNELS = ["EMAIL", "SMS", "PUSH"] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** The fields of UpdatePreferencesInput, as user.preferences.updated names the changed ones. */
export const PREFERENCE_FIELDS = ["theme", "defaultTradingAccountId", "watchlists", "notifications"] as const;
export type PreferenceField = (typeof PREFERENCE_FIELDS)[number];

export const WATCHLIST_LIMITS = { lists: 20, symbolsPerList: 100, nameLength: 50 } as const;
/** Kite Connect's exchanges, as instruments are qualified (`NSE:INFY`). */
export const EXCHANGES = ["NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX", "NCO"] as const;
/** `EXCHANGE:TRADINGSYMBOL`, the trading symbol as Kite spells it (`NSE:M&M`, `NFO:NIFTY24DECFUT`, indices such as `NSE:NIFTY 50`: single spaces inside). */
export const QUALIFIED_SYMBOL = new RegExp(`^(${EXCHANGES.join("|")}):[A-Z0-9&_.-]+( [A-Z0-9&_.-]+)*$`);
/** The longest trading symbol after the exchange. */
export const SYMBOL_LENGTH = 40;

// Types, not interfaces: stored as JSON, they must be assignable to Prisma's JSON values.
export type Watchlist = {
  name: string;
  symbols: string[];
};

export type NotificationChoice = {
  channel: NotificationChannel;
  topic: NotificationTopic;
  enabled: boolean;
};

/** What a user has chosen; a user without a row has DEFAULT_PREFERENCES. */
export interface StoredPreferences {
  theme: Theme;
  defaultTradingAccountId: string | null;
  watchlists: Watchlist[];
  /** Only the (channel, topic) pairs the user set; the others have their default. */
  notifications: NotificationChoice[];
}

export const DEFAULT_PREFERENCES: StoredPreferences = { theme: "SYSTEM", defaultTradingAccountId: null, watchlists: [], notifications: [] };

/**
 * A (channel, topic) nobody chose: on, except `marketing`, which is opt-in (consent to direct
 * marketing must be given, not presumed). Choices are stored, not the defaults, so a changed
 * default reaches everyone who never chose.
 */
export const enabledByDefault = (_channel: NotificationChannel, topic: NotificationTopic): boolean => topic !== "marketing";

/** Whether a user must keep this pair on: security mails are always sent. */
export const mandatory = (channel: NotificationChannel, topic: NotificationTopic): boolean => channel === "EMAIL" && topic === ALWAYS_EMAILED_TOPIC;

const choiceKey = (c: Pick<NotificationChoice, "channel" | "topic">) => `${c.channel}/${c.topic}`;

/** Every (channel, topic), in the order of NOTIFICATION_CHANNELS then NOTIFICATION_TOPICS, with the user's choice or its default. */
export function notificationMatrix(choices: readonly NotificationChoice[]): NotificationChoice[] {
  const chosen = new Map(choices.map((c) => [choiceKey(c), c.enabled]));
  return NOTIFICATION_CHANNELS.flatMap((channel) => NOTIFICATION_TOPICS.map((topic) => ({ channel, topic, enabled: chosen.get(choiceKey({ channel, topic })) ?? enabledByDefault(channel, topic) })));
}

/** Whether a user with these choices wants emails of `topic`. */
export function emailWanted(choices: readonly NotificationChoice[], topic: NotificationTopic): boolean {
  if (mandatory("EMAIL", topic)) return true;
  return choices.find((c) => c.channel === "EMAIL" && c.topic === topic)?.enabled ?? enabledByDefault("EMAIL", topic);
}

/** `given` over `stored`, per (channel, topic), in the matrix's order (so equal choices compare equal). */
export function mergeChoices(stored: readonly NotificationChoice[], given: readonly NotificationChoice[]): NotificationChoice[] {
  const merged = new Map([...stored, ...given].map((c) => [choiceKey(c), c]));
  return notificationMatrix([]).flatMap((pair) => {
    const choice = merged.get(choiceKey(pair));
    return choice ? [{ channel: choice.channel, topic: choice.topic, enabled: choice.enabled }] : [];
  });
}
