import { hkdfSync } from "node:crypto";
import { open, seal } from "./aead";

/** Whose a sealed value is and what it is for: the additional authenticated data of both layers (SECURITY 57). */
export interface Binding {
  /** The row it belongs to (a signing key's kid, a user's id, ...). */
  owner: string;
  /** What it is: lowercase words and dashes ("signing-key", "totp-seed"). */
  purpose: string;
}

/**
 * A value sealed under the vault, stored as it is: `ciphertext` is AES-256-GCM under a data key of
 * its own (`v1.<96-bit nonce>.<body>.<16-byte tag>`, SECURITY 55), `wrappedKey` that data key
 * wrapped by the key-encryption key `kekId` (SECURITY 56). Neither opens without the KEK.
 */
export interface SealedRecord {
  ciphertext: string;
  wrappedKey: string;
  kekId: string;
}

/** A fresh data key: its plaintext (used once, then dropped) and the same key wrapped by a KEK. */
export interface DataKey {
  plaintext: Buffer;
  wrapped: string;
  kekId: string;
}

/** Holds key-encryption keys apart from the database: the local key ring, AWS KMS or Vault transit. */
export interface KekProvider {
  /** Whether `kekId` names one of this provider's keys. */
  owns(kekId: string): boolean;
  generateDataKey(binding: Binding): Promise<DataKey>;
  /** The data key back; fails when `binding` is not the one it was generated for. */
  unwrap(wrapped: string, kekId: string, binding: Binding): Promise<Buffer>;
}

/**
 * Rows sealed before the vault existed (the JWT signing keys under KEY_ENCRYPTION_KEY): AES-256-GCM
 * directly under a key derived from it, no data key. The migration marks them so; `KeyStore.init`
 * re-seals them under the vault.
 */
export const LEGACY_KEK_ID = "legacy";

/** The key that sealed the JWT signing keys before the vault, derived from KEY_ENCRYPTION_KEY. */
export function legacySigningKeysKey(keyEncryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", keyEncryptionKey, Buffer.alloc(0), "identity-subgraph signing keys", 32));
}

const PURPOSE = /^[a-z][a-z0-9-]{0,63}$/;

/** The associated data of a binding, one unambiguous string (`purpose` has no colon). */
export function bindingAad({ owner, purpose }: Binding): string {
  if (!PURPOSE.test(purpose)) throw new Error(`vault purpose must be lowercase words and dashes: ${purpose}`);
  return `${purpose}:${owner}`;
}

/**
 * The one place secrets at rest are sealed: envelope encryption with a fresh data key per record.
 * New records are wrapped by the first provider's current KEK; a record opens under any provider
 * that owns its `kekId`, so records of a previous KEK (or provider) still open until
 * `npm run keys:rewrap` has moved them.
 */
export class KeyVault {
  constructor(
    private readonly providers: readonly [KekProvider, ...KekProvider[]],
    /** Opens `LEGACY_KEK_ID` records; null when there is no KEY_ENCRYPTION_KEY to derive it from. */
    private readonly legacyKey: Buffer | null = null,
  ) {}

  async seal(plaintext: string, binding: Binding): Promise<SealedRecord> {
    const aad = bindingAad(binding);
    const key = await this.providers[0].generateDataKey(binding);
    try {
      return { ciphertext: seal(key.plaintext, plaintext, aad), wrappedKey: key.wrapped, kekId: key.kekId };
    } finally {
      key.plaintext.fill(0);
    }
  }

  async open(record: SealedRecord, binding: Binding): Promise<string> {
    const aad = bindingAad(binding);
    if (record.kekId === LEGACY_KEK_ID) {
      if (!this.legacyKey) throw new Error("a record sealed before the vault needs KEY_ENCRYPTION_KEY");
      return open(this.legacyKey, record.ciphertext, aad);
    }
    const provider = this.providers.find((p) => p.owns(record.kekId));
    if (!provider) throw new Error(`no configured key-encryption key ${record.kekId}`);
    const key = await provider.unwrap(record.wrappedKey, record.kekId, binding);
    try {
      return open(key, record.ciphertext, aad);
    } finally {
      key.fill(0);
    }
  }

  /** The KEK new records are wrapped by now (asks the provider for a data key it then drops). */
  async currentKekId(): Promise<string> {
    const key = await this.providers[0].generateDataKey({ owner: "current-kek", purpose: "vault-probe" });
    key.plaintext.fill(0);
    return key.kekId;
  }
}
