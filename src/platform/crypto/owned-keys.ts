import { randomBytes } from "node:crypto";
import type { Binding, KeyVault, SealedRecord } from "./vault";

/**
 * Data keys that belong to an owner (a user's documents, an account's credentials): 256 random
 * bits, stored only sealed by the key vault, bound to the owner. Everything of the owner is sealed
 * under its key, so deleting the key's row shreds all of it (crypto-shredding), backups included.
 * Callers store the sealed record in their own table, in their own transaction.
 */
export class OwnedDataKeys {
  constructor(
    private readonly vault: KeyVault,
    private readonly binding: (owner: string) => Binding,
  ) {}

  /** A new key for `owner`: its plaintext (zero it after use) and the record to store. */
  async fresh(owner: string): Promise<{ key: Buffer; sealed: SealedRecord }> {
    const key = randomBytes(32);
    return { key, sealed: await this.vault.seal(key.toString("base64"), this.binding(owner)) };
  }

  /** The key back from its stored record (zero it after use). */
  async open(owner: string, sealed: SealedRecord): Promise<Buffer> {
    return Buffer.from(await this.vault.open(sealed, this.binding(owner)), "base64");
  }
}
