import { sealedColumns, type SealedStores } from "../../platform/crypto/rewrap";
import type { Binding } from "../../platform/crypto/vault";

/** What an account's data key is sealed to: the account, and that purpose. */
export const accountKeyBinding = (accountId: string): Binding => ({ owner: accountId, purpose: "trading-account-key" });

/** The module's sealed values, for keys:rewrap (the credentials are sealed under the account key, which this re-seals). */
export const tradingAccountsSealedStores = {
  trading_account_keys: (prisma) => sealedColumns(prisma, { table: "trading_account_keys", id: "account_id", idType: "uuid", ciphertext: "key_enc", binding: accountKeyBinding }),
} satisfies SealedStores;
