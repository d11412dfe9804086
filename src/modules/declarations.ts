import { platformDeclarations } from "../platform/platform.declarations";
import { mergeOnce } from "../shared/merge-once";
import { accountsDeclarations } from "./accounts/accounts.declarations";
import { adminDeclarations } from "./admin/admin.declarations";
import type { Declarations } from "./module";
import { authzDeclarations } from "./authz/authz.declarations";
import { clientsDeclarations } from "./clients/clients.declarations";
import { kycDeclarations } from "./kyc/kyc.declarations";
import { mfaDeclarations } from "./mfa/mfa.declarations";
import { preferencesDeclarations } from "./preferences/preferences.declarations";
import { sessionsDeclarations } from "./sessions/sessions.declarations";
import { tradingAccountsDeclarations } from "./trading-accounts/trading-accounts.declarations";

/** Every owner's declarations, one line each (a module without any is not listed). */
const owners = {
  platform: platformDeclarations,
  sessions: sessionsDeclarations,
  accounts: accountsDeclarations,
  mfa: mfaDeclarations,
  authz: authzDeclarations,
  admin: adminDeclarations,
  clients: clientsDeclarations,
  kyc: kycDeclarations,
  "trading-accounts": tradingAccountsDeclarations,
  preferences: preferencesDeclarations,
} as const;

/** Who declares: a module folder with a `<name>.declarations.ts` missing here fails a test. */
export const declarationOwners = Object.keys(owners);

type Owners = typeof owners;
type PartsOf<K extends keyof Declarations> = { [O in keyof Owners]: Owners[O] extends { readonly [P in K]: infer V } ? V : Record<never, never> };

function declared<K extends keyof Declarations>(kind: K): PartsOf<K> {
  return Object.fromEntries(Object.entries(owners).map(([owner, d]: [string, Declarations]) => [owner, d[kind] ?? {}])) as PartsOf<K>;
}

/** Every variable the service reads. `.env.example` and the README list exactly these (a test checks). */
export const configSpec = mergeOnce("variable", declared("config"));
/** Every domain event this service publishes (platform/events/catalogue.ts checks payloads against it). */
export const eventCatalogue = mergeOnce("event", declared("events"));
/** Every template of the `notifications` queue this service sends. */
export const notificationTemplates = mergeOnce("template", declared("notifications"));
/** Root fields that may appear once per operation. */
export const singleUseFields = mergeOnce("field", declared("singleUseFields"));
/** Every table of values sealed by the key vault, for keys:rewrap. */
export const sealedStores = mergeOnce("sealed store", declared("sealedStores"));
