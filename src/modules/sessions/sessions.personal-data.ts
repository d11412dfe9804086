import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

/** The user's sessions: devices, addresses and times (never the refresh tokens). */
export const sessionsPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "sessions",
  export: (userId) => prisma.session.findMany({ where: { userId }, omit: { userId: true, deviceFingerprint: true }, orderBy: { createdAt: "asc" } }),
  // Their refresh tokens go with them (ON DELETE CASCADE); the erasure ends the sessions first.
  erase: async (scope, userId) => {
    await scope.tx.session.deleteMany({ where: { userId } });
  },
});
