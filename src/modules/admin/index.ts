import type { Kernel, Module } from "../module";
import type { AuthzApi } from "../authz";
import type { SessionsApi } from "../sessions";
import { AdminResolver } from "./admin.resolver";
import { AdminService } from "./admin.service";

export interface AdminDeps {
  sessions: Pick<SessionsApi, "revocations">;
  authz: Pick<AuthzApi, "accountChanged">;
}

/** Account administration: listing users, suspending and reactivating them (`perm:` requirements, decided by authz). */
export function adminModule(kernel: Kernel, deps: AdminDeps): Module {
  const service = new AdminService({ ...kernel, revocations: deps.sessions.revocations, accountChanged: deps.authz.accountChanged });
  return { name: "admin", api: {}, resolvers: [new AdminResolver(service)] };
}
