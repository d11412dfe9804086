import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

const tokenFields = { createdAt: true, expiresAt: true, usedAt: true } as const;

/** The profile and the verification and reset links (when asked for and used, never the tokens). */
export const accountsPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "accounts",
  export: async (userId) => {
    const [profile, emailVerifications, passwordResets] = await Promise.all([
      prisma.user.findUnique({ where: { id: userId }, omit: { passwordHash: true } }),
      prisma.emailVerificationToken.findMany({ where: { userId }, select: tokenFields, orderBy: { createdAt: "asc" } }),
      prisma.passwordResetToken.findMany({ where: { userId }, select: tokenFields, orderBy: { createdAt: "asc" } }),
    ]);
    return { profile, emailVerifications, passwordResets };
  },
  // The links go; the users row itself is the erasure's own step (deleted or anonymised there).
  erase: async (scope, userId) => {
    await scope.tx.emailVerificationToken.deleteMany({ where: { userId } });
    await scope.tx.passwordResetToken.deleteMany({ where: { userId } });
  },
});
