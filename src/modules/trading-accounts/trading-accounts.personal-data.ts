import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";
import type { TradingAccountsService } from "./trading-accounts.service";

/**
 * The accounts a user linked (without any credential) and the memberships they hold. Erasure
 * unlinks the user's accounts (their sessions ended at the broker, the keys deleted: the
 * credentials are shredded; members lose access) and removes their memberships.
 */
export const tradingAccountsPersonalData = (prisma: Prisma, accounts: TradingAccountsService): PersonalDataPart => ({
  module: "trading-accounts",
  export: async (userId) => {
    const [owned, memberships] = await Promise.all([
      prisma.tradingAccount.findMany({ where: { ownerId: userId }, select: { id: true, broker: true, brokerUserId: true, nickname: true, status: true, profile: true, lastVerifiedAt: true, sessionExpiresAt: true, createdAt: true, members: { select: { userId: true, role: true, createdAt: true } } }, orderBy: { createdAt: "asc" } }),
      prisma.tradingAccountMember.findMany({ where: { userId }, select: { accountId: true, role: true, createdAt: true }, orderBy: { createdAt: "asc" } }),
    ]);
    return { accounts: owned, memberships };
  },
  erase: (scope, userId) => accounts.erase(scope, userId),
});
