import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";
import type { KycService } from "./kyc.service";

/**
 * Verifications with their documents' metadata (never the bytes or the provider's payloads).
 * Erasure deletes the user's document key first: every sealed document, in storage and in its
 * backups, stops opening (crypto-shredding); then the rows.
 */
export const kycPersonalData = (prisma: Prisma, kyc: KycService): PersonalDataPart => ({
  module: "kyc",
  export: async (userId) => {
    const ids = await prisma.kycVerification.findMany({ where: { userId }, select: { id: true }, orderBy: { createdAt: "asc" } });
    return { verifications: await Promise.all(ids.map(({ id }) => kyc.verification(userId, id))) };
  },
  erase: async (scope, userId) => {
    await scope.tx.kycDocumentKey.deleteMany({ where: { userId } });
    const verifications = await scope.tx.kycVerification.findMany({ where: { userId }, select: { id: true } });
    // One sandbox applicant per submission attempt, named by its reference (applicantReference: `<verification id>-<attempt>`).
    await scope.tx.kycSandboxApplicant.deleteMany({ where: { OR: verifications.map((v) => ({ reference: { startsWith: `${v.id}-` } })) } });
    await scope.tx.kycVerification.deleteMany({ where: { userId } });
  },
});
