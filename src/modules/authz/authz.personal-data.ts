import type { Prisma } from "../../platform/db/database";
import type { PersonalDataPart } from "../users";

/** The user's roles and direct grants. */
export const authzPersonalData = (prisma: Prisma): PersonalDataPart => ({
  module: "authz",
  export: async (userId) => ({
    roles: await prisma.userRole.findMany({ where: { userId }, select: { role: true, assignedAt: true }, orderBy: { role: "asc" } }),
    grants: await prisma.permissionGrant.findMany({ where: { userId }, select: { permission: true, expiresAt: true, reason: true, createdAt: true }, orderBy: { createdAt: "asc" } }),
  }),
  erase: async (scope, userId) => {
    await scope.tx.userRole.deleteMany({ where: { userId } });
    await scope.tx.permissionGrant.deleteMany({ where: { userId } });
  },
});
