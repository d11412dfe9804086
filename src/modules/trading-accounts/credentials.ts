import { open, seal } from "../../platform/crypto/aead";
import { OwnedDataKeys } from "../../platform/crypto/owned-keys";
import type { KeyVault, SealedRecord } from "../../platform/crypto/vault";
import { accountKeyBinding } from "./trading-accounts.sealed";

/** What a broker gave: the app's key and secret and the day's access token. Never returned to a user, logged or put in an event. */
export interface Credentials {
  apiKey: string;
  apiSecret: string;
  accessToken: string;
}

const FIELDS = { apiKey: "api_key", apiSecret: "api_secret", accessToken: "access_token" } as const;
type Field = keyof typeof FIELDS;

/** The sealed columns of an account row. */
export interface SealedCredentials {
  apiKeyEnc: string;
  apiSecretEnc: string;
  accessTokenEnc: string;
}

/** Whose it is: the account and its owner (who never changes). */
export interface AccountRef {
  id: string;
  ownerId: string;
}

/** Each ciphertext is bound to its owner, its account and its field (SECURITY 57): copied to another row or column, or with the owner changed, it does not open. */
const aad = (account: AccountRef, field: Field) => `trading-account:${account.ownerId}:${account.id}:${FIELDS[field]}:v1`;

/**
 * The credentials of accounts: AES-256-GCM under the account's own data key (sealed by the key
 * vault, stored in trading_account_keys), one ciphertext per field. A rotation seals under a new
 * key and the old one is dropped with its row.
 */
export class CredentialVault {
  private readonly keys: OwnedDataKeys;

  constructor(vault: KeyVault) {
    this.keys = new OwnedDataKeys(vault, accountKeyBinding);
  }

  /** A new key for the account and the credentials sealed under it. */
  async sealNew(account: AccountRef, credentials: Credentials): Promise<{ key: SealedRecord; columns: SealedCredentials }> {
    const { key, sealed } = await this.keys.fresh(account.id);
    try {
      return { key: sealed, columns: this.sealWith(key, account, credentials) };
    } finally {
      key.fill(0);
    }
  }

  /** A new access token under the account's existing key. */
  async sealToken(account: AccountRef, key: SealedRecord, accessToken: string): Promise<string> {
    const plain = await this.keys.open(account.id, key);
    try {
      return seal(plain, accessToken, aad(account, "accessToken"));
    } finally {
      plain.fill(0);
    }
  }

  async open(account: AccountRef, key: SealedRecord, columns: SealedCredentials): Promise<Credentials> {
    const plain = await this.keys.open(account.id, key);
    try {
      return {
        apiKey: open(plain, columns.apiKeyEnc, aad(account, "apiKey")),
        apiSecret: open(plain, columns.apiSecretEnc, aad(account, "apiSecret")),
        accessToken: open(plain, columns.accessTokenEnc, aad(account, "accessToken")),
      };
    } finally {
      plain.fill(0);
    }
  }

  private sealWith(key: Buffer, account: AccountRef, credentials: Credentials): SealedCredentials {
    return {
      apiKeyEnc: seal(key, credentials.apiKey, aad(account, "apiKey")),
      apiSecretEnc: seal(key, credentials.apiSecret, aad(account, "apiSecret")),
      accessTokenEnc: seal(key, credentials.accessToken, aad(account, "accessToken")),
    };
  }
}
