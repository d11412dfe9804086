import { BadUserInputError } from "../../shared/errors";
import { InputCheck } from "../../shared/input-check";
import { parseUuid } from "../../shared/ids";
import { EXCHANGES, NOTIFICATION_CHANNELS, NOTIFICATION_TOPICS, QUALIFIED_SYMBOL, SYMBOL_LENGTH, WATCHLIST_LIMITS, mandatory, type NotificationChoice, type NotificationTopic, type StoredPreferences, type Watchlist } from "./preferences.model";
import type { UpdatePreferencesInput } from "./preferences.types";

/** What an update asks for: the fields given (`notifications` as given, to merge over the stored choices). */
export type PreferencesChange = Partial<StoredPreferences>;

const TOPICS: ReadonlySet<string> = new Set(NOTIFICATION_TOPICS);
const given = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;

/**
 * The change UpdatePreferencesInput asks for, or BAD_USER_INPUT naming every problem by its path
 * (`input.watchlists[2].symbols[5]`). A null theme, watchlists or notifications is left as it is;
 * a null defaultTradingAccountId clears it. Symbols are taken as given (Kite spells them in capitals).
 */
export function preferencesChange(input: UpdatePreferencesInput): PreferencesChange {
  const check = new InputCheck("input");
  const change: PreferencesChange = {};
  if (given(input.theme)) change.theme = input.theme;
  if (input.defaultTradingAccountId !== undefined) {
    const id = input.defaultTradingAccountId === null ? null : parseUuid(input.defaultTradingAccountId);
    if (input.defaultTradingAccountId !== null && id === null) check.problem("defaultTradingAccountId", "must be a UUID");
    change.defaultTradingAccountId = id;
  }
  if (given(input.watchlists)) change.watchlists = watchlists(check, input.watchlists);
  if (given(input.notifications)) change.notifications = notificationChoices(check, input.notifications);
  if (check.problems.length > 0) throw new BadUserInputError(check.problems);
  return change;
}

function watchlists(check: InputCheck, lists: readonly Watchlist[]): Watchlist[] {
  if (lists.length > WATCHLIST_LIMITS.lists) {
    check.problem("watchlists", `must hold at most ${WATCHLIST_LIMITS.lists} watchlists`);
    return [];
  }
  const names = new Set<string>();
  return lists.map((list, i) => {
    const at = `watchlists[${i}]`;
    const name = check.text(`${at}.name`, list.name, WATCHLIST_LIMITS.nameLength);
    if (name === null) check.problem(`${at}.name`, "must not be empty");
    else if (names.has(name.toLowerCase())) check.problem(`${at}.name`, `repeats the name of another watchlist (${name}), regardless of case`);
    else names.add(name.toLowerCase());
    if (list.symbols.length > WATCHLIST_LIMITS.symbolsPerList) {
      check.problem(`${at}.symbols`, `must hold at most ${WATCHLIST_LIMITS.symbolsPerList} symbols`);
      return { name: name ?? "", symbols: [] };
    }
    const seen = new Set<string>();
    list.symbols.forEach((symbol, j) => {
      if (!QUALIFIED_SYMBOL.test(symbol) || symbol.length - symbol.indexOf(":") - 1 > SYMBOL_LENGTH) check.problem(`${at}.symbols[${j}]`, `must be EXCHANGE:TRADINGSYMBOL (exchange ${EXCHANGES.join(", ")}; symbol of capitals, digits, & _ . - and single inner spaces, at most ${SYMBOL_LENGTH}), such as NSE:INFY or NSE:NIFTY 50`);
      else if (seen.has(symbol)) check.problem(`${at}.symbols[${j}]`, `repeats ${symbol} in this watchlist`);
      seen.add(symbol);
    });
    return { name: name ?? "", symbols: [...list.symbols] };
  });
}

function notificationChoices(check: InputCheck, entries: readonly { channel: NotificationChoice["channel"]; topic: string; enabled: boolean }[]): NotificationChoice[] {
  // Each (channel, topic) once: more entries than pairs cannot all be valid (and would each be a problem).
  const most = NOTIFICATION_CHANNELS.length * NOTIFICATION_TOPICS.length;
  if (entries.length > most) {
    check.problem("notifications", `must set each channel and topic at most once (at most ${most} entries)`);
    return [];
  }
  const pairs = new Set<string>();
  return entries.flatMap(({ channel, topic, enabled }, i) => {
    const at = `notifications[${i}]`;
    if (!TOPICS.has(topic)) {
      check.problem(`${at}.topic`, `must be one of ${NOTIFICATION_TOPICS.join(", ")}`);
      return [];
    }
    const known = topic as NotificationTopic;
    if (pairs.has(`${channel}/${known}`)) check.problem(at, `repeats ${channel} ${known}`);
    pairs.add(`${channel}/${known}`);
    if (mandatory(channel, known) && !enabled) check.problem(`${at}.enabled`, "security emails (password, two-factor, new device, suspension) are always sent: EMAIL security cannot be turned off");
    return [{ channel, topic: known, enabled }];
  });
}
