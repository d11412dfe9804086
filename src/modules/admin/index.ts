import type { Kernel, Module } from "../module";
import type { SessionsApi } from "../sessions";
import { AdminResolver } from "./admin.resolver";
import { AdminService } from "./admin.service";

export interface AdminDeps {
  sessions: Pick<SessionsApi, "revocations">;
}

/** Account administration: listing users, suspending and reactivating them (`perm:` requirements, decided by authz). */
export function adminModule(kernel: Kernel, deps: AdminDeps): Module {
  const service = new AdminService({ ...kernel, revocations: deps.sessions.revocations });
  return { name: "admin", api: {}, resolvers: [new AdminResolver(service)] };
}
