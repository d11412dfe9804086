import { sealedColumns, type SealedStores } from "../../platform/crypto/rewrap";
import type { Binding } from "../../platform/crypto/vault";

/** What a TOTP secret is sealed to: its user, and that purpose (a secret moved to another row does not open). */
export const totpSecretBinding = (userId: string): Binding => ({ owner: userId, purpose: "totp-secret" });

/** The MFA module's sealed values, for keys:rewrap. */
export const mfaSealedStores = {
  mfa_totp: (prisma) => sealedColumns(prisma, { table: "mfa_totp", id: "user_id", idType: "uuid", ciphertext: "secret_enc", binding: totpSecretBinding }),
} satisfies SealedStores;
