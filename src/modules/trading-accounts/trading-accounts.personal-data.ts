import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

/**
 * The accounts a user linked (without any credential) and the memberships they hold. Erasure
 * deletes the user's accounts with their keys (the credentials are shredded; members lose access)
 * and their memberships. The broker sessions are not ended here: the erasure has no broker call.
 */
export const tradingAccountsPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "trading-accounts",
  export: async (userId) => {
    const [owned, memberships] = await Promise.all([
      prisma.tradingAccount.findMany({ where: { ownerId: userId }, select: { id: true, broker: true, brokerUserId: true, nickname: true, status: true, profile: true, lastVerifiedAt: true, sessionExpiresAt: true, createdAt: true, members: { select: { userId: true, role: true, createdAt: true } } }, orderBy: { createdAt: "asc" } }),
      prisma.tradingAccountMember.findMany({ where: { userId }, select: { accountId: true, role: true, createdAt: true }, orderBy: { createdAt: "asc" } }),
    ]);
    return { accounts: owned, memberships };
  },
  erase: async (scope, userId) => {
    await scope.tx.tradingAccountMember.deleteMany({ where: { userId } });
    await scope.tx.tradingAccount.deleteMany({ where: { ownerId: userId } });
  },
});
