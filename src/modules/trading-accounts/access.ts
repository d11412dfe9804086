import type { Prisma } from "../../platform/db/database";

export const TRADING_ACCOUNT_ROLES = ["OWNER", "TRADER", "VIEWER"] as const;
export type TradingAccountRole = (typeof TRADING_ACCOUNT_ROLES)[number];

/** What a user is to an account: its owner, a member with a role, or nothing (null). One query. */
export async function roleOf(prisma: Prisma, userId: string, accountId: string): Promise<TradingAccountRole | null> {
  const rows = await prisma.$queryRaw<{ role: TradingAccountRole }[]>`
    SELECT 'OWNER' AS role FROM trading_accounts WHERE id = ${accountId}::uuid AND owner_id = ${userId}::uuid
    UNION ALL
    SELECT role FROM trading_account_members WHERE account_id = ${accountId}::uuid AND user_id = ${userId}::uuid
    LIMIT 1`;
  return rows[0]?.role ?? null;
}
