import type { Kernel, Module } from "../module";
import type { UsersApi } from "../users";
import { auditPersonalData } from "./audit.personal-data";
import { AuditResolver } from "./audit.resolver";
import { AuditService } from "./audit.service";

/** The audit trail as its subjects see it (the chain itself is the platform's). */
export function auditModule(kernel: Pick<Kernel, "prisma">, deps: { users: Pick<UsersApi, "personalData"> }): Module<AuditService> {
  deps.users.personalData.register(auditPersonalData(kernel.prisma));
  const service = new AuditService(kernel.prisma);
  return { name: "audit", api: service, resolvers: [new AuditResolver(service)] };
}
