import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

/** Whether and since when TOTP is on, and the backup codes' use (never the secret or a code). */
export const mfaPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "mfa",
  export: async (userId) => {
    const totp = await prisma.mfaTotp.findUnique({ where: { userId }, select: { enabledAt: true, createdAt: true, backupCodes: { select: { createdAt: true, usedAt: true }, orderBy: { createdAt: "asc" } } } });
    return totp && { totpEnabledAt: totp.enabledAt, totpCreatedAt: totp.createdAt, backupCodes: totp.backupCodes };
  },
  // The backup codes go with the secret (ON DELETE CASCADE).
  erase: async (scope, userId) => {
    await scope.tx.mfaTotp.deleteMany({ where: { userId } });
  },
});
