import type { Kernel, Module } from "../module";
import { AuditResolver } from "./audit.resolver";
import { AuditService } from "./audit.service";

/** The audit trail as its subjects see it (the chain itself is the platform's). */
export function auditModule(kernel: Pick<Kernel, "prisma">): Module<AuditService> {
  const service = new AuditService(kernel.prisma);
  return { name: "audit", api: service, resolvers: [new AuditResolver(service)] };
}
