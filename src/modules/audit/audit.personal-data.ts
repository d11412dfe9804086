import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

/** The records where the user acted or was acted upon. */
export const auditPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "audit",
  export: (userId) =>
    prisma.auditEvent.findMany({
      where: { OR: [{ actorId: userId }, { subjectType: "user", subjectId: userId }] },
      select: { action: true, outcome: true, occurredAt: true, ipAddress: true, userAgent: true },
      orderBy: { id: "asc" },
    }),
  // Kept: the trail is evidence (GDPR Art. 17(3)(b), (e)) and hash-chained, so a deleted record
  // would break its verification.
  erase: async () => undefined,
});
