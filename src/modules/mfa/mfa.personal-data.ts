import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

const challenges = { purpose: "mfa-challenge" } as const;

/**
 * Whether and since when TOTP is on, the backup codes' use, and the login challenges with the
 * attempt each was bound to (device, address, user agent); never the secret, a code or a token.
 */
export const mfaPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "mfa",
  export: async (userId) => {
    const [totp, loginChallenges] = await Promise.all([
      prisma.mfaTotp.findUnique({ where: { userId }, select: { enabledAt: true, createdAt: true, backupCodes: { select: { createdAt: true, usedAt: true }, orderBy: { createdAt: "asc" } } } }),
      prisma.singleUseToken.findMany({ where: { userId, ...challenges }, select: { createdAt: true, expiresAt: true, usedAt: true, context: true }, orderBy: { createdAt: "asc" } }),
    ]);
    const attempts = loginChallenges.map(({ context, ...times }) => {
      const { device, ipAddress, userAgent } = (context ?? {}) as { device?: unknown; ipAddress?: unknown; userAgent?: unknown };
      return { ...times, device, ipAddress, userAgent };
    });
    return { totp: totp && { enabledAt: totp.enabledAt, createdAt: totp.createdAt, backupCodes: totp.backupCodes }, loginChallenges: attempts };
  },
  // The backup codes go with the secret (ON DELETE CASCADE).
  erase: async (scope, userId) => {
    await scope.tx.mfaTotp.deleteMany({ where: { userId } });
    await scope.tx.singleUseToken.deleteMany({ where: { userId, ...challenges } });
  },
});
