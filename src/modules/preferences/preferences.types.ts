import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { NOTIFICATION_TOPICS, WATCHLIST_LIMITS, type NotificationChannel, type Theme } from "./preferences.model";

export const ThemeEnum = { LIGHT: "LIGHT", DARK: "DARK", SYSTEM: "SYSTEM" } as const satisfies { [T in Theme]: T };
registerEnumType(ThemeEnum, { name: "Theme", description: "SYSTEM follows the device's setting." });
export const NotificationChannelEnum = { EMAIL: "EMAIL", SMS: "SMS", PUSH: "PUSH" } as const satisfies { [C in NotificationChannel]: C };
registerEnumType(NotificationChannelEnum, { name: "NotificationChannel" });

const TOPICS = NOTIFICATION_TOPICS.join(", ");

@ObjectType({ description: "A named list of exchange-qualified symbols (NSE:INFY)." })
export class Watchlist {
  @Field()
  name!: string;

  @Field(() => [String])
  symbols!: string[];
}

@ObjectType({ description: "Whether the user is told about a topic on a channel." })
export class NotificationPreference {
  @Field(() => NotificationChannelEnum)
  channel!: NotificationChannel;

  @Field({ description: `One of ${TOPICS}.` })
  topic!: string;

  @Field()
  enabled!: boolean;
}

@ObjectType({ description: "The caller's preferences; a new user has the defaults (SYSTEM theme, no default account, no watchlists, every notification on but marketing)." })
export class Preferences {
  @Field(() => ThemeEnum)
  theme!: Theme;

  @Field(() => ID, { nullable: true, description: "A trading account the user may see (null once they no longer may)." })
  defaultTradingAccountId!: string | null;

  @Field(() => [Watchlist])
  watchlists!: Watchlist[];

  @Field(() => [NotificationPreference], { description: `Every channel and topic (${TOPICS}) with its setting: the user's choice, else the default (on, but marketing off). EMAIL security is always on.` })
  notifications!: NotificationPreference[];
}

@InputType()
export class WatchlistInput {
  @Field({ description: `Unique among the user's watchlists regardless of case, at most ${WATCHLIST_LIMITS.nameLength} characters.` })
  name!: string;

  @Field(() => [String], { description: `At most ${WATCHLIST_LIMITS.symbolsPerList}, each EXCHANGE:TRADINGSYMBOL (NSE, BSE, NFO, BFO, CDS, BCD, MCX), none twice.` })
  symbols!: string[];
}

@InputType()
export class NotificationPreferenceInput {
  @Field(() => NotificationChannelEnum)
  channel!: NotificationChannel;

  @Field({ description: `One of ${TOPICS}.` })
  topic!: string;

  @Field({ description: "EMAIL security cannot be turned off." })
  enabled!: boolean;
}

@InputType({ description: "Fields left out (or null) keep their value; defaultTradingAccountId null clears it." })
export class UpdatePreferencesInput {
  @Field(() => ThemeEnum, { nullable: true })
  theme?: Theme | null;

  @Field(() => ID, { nullable: true, description: "A trading account the caller may see (owner or member); null clears it." })
  defaultTradingAccountId?: string | null;

  @Field(() => [WatchlistInput], { nullable: true, description: `Replaces every watchlist: at most ${WATCHLIST_LIMITS.lists}.` })
  watchlists?: WatchlistInput[] | null;

  @Field(() => [NotificationPreferenceInput], { nullable: true, description: "Set per channel and topic; pairs not given keep their setting." })
  notifications?: NotificationPreferenceInput[] | null;
}
