import { openBytes, sealBytes } from "../../../platform/crypto/aead";
import { OwnedDataKeys } from "../../../platform/crypto/owned-keys";
import type { KeyVault } from "../../../platform/crypto/vault";
import type { Prisma } from "../../../platform/db/database";
import { documentKeyBinding } from "../kyc.sealed";
import type { DocumentStorage } from "./storage";

/**
 * Documents at rest: each user has one document key (256 bits), sealed by the key vault; every
 * document of the user is sealed under it with AES-256-GCM bound to its id, then handed to storage.
 * Storage (a disk, a bucket) never holds a document in clear, a document copied to another id does
 * not open, and deleting the user's key row shreds every document of theirs, backups included.
 */
export class DocumentVault {
  private readonly keys: OwnedDataKeys;

  constructor(
    private readonly prisma: Prisma,
    vault: KeyVault,
    private readonly storage: DocumentStorage,
  ) {
    this.keys = new OwnedDataKeys(vault, documentKeyBinding);
  }

  async store(userId: string, documentId: string, content: Buffer): Promise<void> {
    const key = await this.keyOf(userId, true);
    try {
      await this.storage.put(storageKey(userId, documentId), sealBytes(key, content, aad(documentId)));
    } finally {
      key.fill(0);
    }
  }

  async read(userId: string, documentId: string): Promise<Buffer> {
    const key = await this.keyOf(userId, false);
    try {
      return openBytes(key, await this.storage.get(storageKey(userId, documentId)), aad(documentId));
    } finally {
      key.fill(0);
    }
  }

  remove(userId: string, documentId: string): Promise<void> {
    return this.storage.delete(storageKey(userId, documentId));
  }

  /** The user's key, made on their first document (two first uploads at once agree on one key). */
  private async keyOf(userId: string, create: boolean): Promise<Buffer> {
    let row = await this.prisma.kycDocumentKey.findUnique({ where: { userId } });
    if (!row && create) {
      const { key, sealed } = await this.keys.fresh(userId);
      key.fill(0);
      await this.prisma.kycDocumentKey.createMany({ data: [{ userId, keyEnc: sealed.ciphertext, wrappedKey: sealed.wrappedKey, kekId: sealed.kekId }], skipDuplicates: true });
      row = await this.prisma.kycDocumentKey.findUnique({ where: { userId } });
    }
    if (!row) throw new Error("the user has no document key (no document was stored, or it was shredded)");
    return this.keys.open(userId, { ciphertext: row.keyEnc, wrappedKey: row.wrappedKey, kekId: row.kekId });
  }
}

const storageKey = (userId: string, documentId: string) => `${userId}/${documentId}`;
const aad = (documentId: string) => `kyc-document:${documentId}`;
