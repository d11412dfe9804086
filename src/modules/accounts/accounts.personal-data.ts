import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";
import type { AccountTokenPurpose } from "./account-tokens";

const purposes: AccountTokenPurpose[] = ["email-verification", "password-reset"];

const links = (prisma: Prisma, userId: string, purpose: AccountTokenPurpose) =>
  prisma.singleUseToken.findMany({ where: { userId, purpose }, select: { createdAt: true, expiresAt: true, usedAt: true }, orderBy: { createdAt: "asc" } });

/** The profile and the verification and reset links (when asked for and used, never the tokens). */
export const accountsPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "accounts",
  export: async (userId) => {
    const [profile, emailVerifications, passwordResets] = await Promise.all([
      prisma.user.findUnique({ where: { id: userId }, omit: { passwordHash: true } }),
      links(prisma, userId, "email-verification"),
      links(prisma, userId, "password-reset"),
    ]);
    return { profile, emailVerifications, passwordResets };
  },
  // The links go; the users row itself is the erasure's own step (deleted or anonymised there).
  erase: async (scope, userId) => {
    await scope.tx.singleUseToken.deleteMany({ where: { userId, purpose: { in: purposes } } });
  },
});
