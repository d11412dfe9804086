import { sealedColumns, type SealedStores } from "../../platform/crypto/rewrap";
import type { Binding } from "../../platform/crypto/vault";

/** What a user's document key is sealed to: the user, and that purpose. */
export const documentKeyBinding = (userId: string): Binding => ({ owner: userId, purpose: "kyc-document-key" });

/** The KYC module's sealed values, for keys:rewrap (documents are sealed under the document key, which this re-seals). */
export const kycSealedStores = {
  kyc_document_keys: (prisma) => sealedColumns(prisma, { table: "kyc_document_keys", id: "user_id", idType: "uuid", ciphertext: "key_enc", binding: documentKeyBinding }),
} satisfies SealedStores;
