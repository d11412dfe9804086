import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";

const account = { accountId: z.uuid(), broker: z.literal("KITE"), brokerUserId: z.string() };
const role = z.enum(["TRADER", "VIEWER"]);

/** Events of linked brokerage accounts. None carries an API key, an API secret or a token. */
export const tradingAccountsEvents = {
  "trading_account.linked": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "A user links a brokerage account (the request token was exchanged and the profile read).",
    payload: z.object({ ...account, ownerId: z.uuid() }).strict(),
  },
  "trading_account.verified": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "The stored broker session was checked against the broker (its status after the check).",
    payload: z.object({ ...account, status: z.enum(["ACTIVE", "REAUTH_REQUIRED", "INVALID_CREDENTIALS"]) }).strict(),
  },
  "trading_account.profile_synced": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "The broker profile snapshot changed (exchanges, products, name or email at the broker).",
    payload: z.object({ ...account, exchanges: z.array(z.string()), products: z.array(z.string()) }).strict(),
  },
  "trading_account.reauth_required": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "The broker session ended (its daily expiry, or the broker said so): the owner must renew it.",
    payload: z.object({ ...account, reason: z.enum(["expired", "broker_ended_session"]) }).strict(),
  },
  "trading_account.credentials_updated": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "The broker session was renewed, or the API key and secret rotated (checked with the broker first).",
    payload: z.object({ ...account, change: z.enum(["session_renewed", "credentials_rotated"]) }).strict(),
  },
  "trading_account.member_added": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "The owner shares the account with a user (or changes their role).",
    payload: z.object({ ...account, userId: z.uuid(), role }).strict(),
  },
  "trading_account.member_removed": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "A member is removed by the owner, or leaves.",
    payload: z.object({ ...account, userId: z.uuid() }).strict(),
  },
  "trading_account.unlinked": {
    version: 1,
    aggregateType: "trading_account",
    emittedWhen: "The owner unlinks the account: the broker session is ended, the credentials shredded, the members removed.",
    payload: z.object({ ...account, ownerId: z.uuid(), members: z.number().int() }).strict(),
  },
} as const satisfies EventCatalogue;
