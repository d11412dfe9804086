import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

/** The user's preferences as stored (their choices; nothing stored means the defaults). */
export const preferencesPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "preferences",
  export: (userId) => prisma.userPreferences.findUnique({ where: { userId }, select: { theme: true, defaultTradingAccountId: true, watchlists: true, notifications: true, updatedAt: true } }),
  erase: async (scope, userId) => {
    await scope.tx.userPreferences.deleteMany({ where: { userId } });
  },
});
