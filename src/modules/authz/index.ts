import type { ClientCaller } from "../../graphql/context";
import { sql } from "../../platform/db/database";
import type { WorkEffects } from "../../platform/events/unit-of-work";
import type { PubSub } from "../../platform/pubsub/pubsub";
import type { Kernel, Module } from "../module";
import type { ClaimsSource } from "../sessions";
import type { UsersApi } from "../users";
import { DEFAULT_ROLE } from "./authz.catalogue";
import { authzPersonalData } from "./authz.personal-data";
import { AuthzResolver } from "./authz.resolver";
import { AuthzService, type ResourceGuard } from "./authz.service";

export interface AuthzDeps {
  pubSub: PubSub;
  users: Pick<UsersApi, "personalData" | "usePrivateReaders">;
}

export interface AuthzApi {
  /** The roles access tokens carry. */
  claims: ClaimsSource;
  /** Registration's part: the default role, in the registration's own unit of work. */
  registered(scope: WorkEffects, userId: string): Promise<void>;
  /** The module that owns a guarded resource type says whether a user may use one. */
  guardResource(type: string, guard: ResourceGuard): void;
  /** The command line's role changes (a system actor). */
  changeRole: AuthzService["changeRoleAsSystem"];
  /** Whether a service client still holds a scope its token carries (no DENY policy on it takes it away). */
  scopeHeld(client: ClientCaller, scope: string): Promise<boolean>;
  /** An account's state changed (suspension, reactivation): every instance forgets what it knew of it. */
  accountChanged(userId: string): void;
  /** A decision in-process, for modules that ask before they act (never throws; a failure denies). */
  decide: AuthzService["decide"];
  /** Given once (by the KYC module): Cedar's `principal.kycStatus`; "NONE" until then. */
  useKycStatus(source: (userId: string) => Promise<string>): void;
}

/** Roles, grants, Cedar policies and the decisions made from them; `perm:` requirements. */
export function authzModule(kernel: Pick<Kernel, "prisma" | "sql" | "unitOfWork" | "clock" | "logger">, deps: AuthzDeps): Module<AuthzApi> {
  const guards = new Map<string, ResourceGuard>();
  const kycStatus: { of: ((userId: string) => Promise<string>) | null } = { of: null };
  const service = new AuthzService({ ...kernel, pubSub: deps.pubSub, guards, kycStatus });
  const stopListening = service.listen();
  deps.users.personalData.register(authzPersonalData(kernel.prisma));
  deps.users.usePrivateReaders({ may: (viewer) => service.viewerMay(viewer, "users:read"), rolesOf: (userId) => service.rolesOf(userId) });
  return {
    name: "authz",
    api: {
      claims: { claimsOf: async (userId) => ({ roles: await service.rolesOf(userId) }) },
      registered: async (scope, userId) => {
        await scope.query(sql`INSERT INTO user_roles (user_id, role) VALUES (${userId}::uuid, ${DEFAULT_ROLE})`);
        scope.publish("role.assigned", userId, { role: DEFAULT_ROLE, by: null });
      },
      guardResource: (type, guard) => {
        if (guards.has(type)) throw new Error(`resource type ${type} is guarded twice`);
        guards.set(type, guard);
      },
      changeRole: (...args) => service.changeRoleAsSystem(...args),
      decide: (...args) => service.decide(...args),
      accountChanged: (userId) => service.userChanged(userId),
      scopeHeld: (client, scope) => service.clientMay(client, scope),
      useKycStatus: (source) => {
        if (kycStatus.of) throw new Error("the KYC status source is given twice");
        kycStatus.of = source;
      },
    },
    resolvers: [new AuthzResolver(service)],
    decides: {
      perm: (viewer, requirement) => service.viewerMay(viewer, requirement.slice("perm:".length)),
      scope: (client, requirement) => service.clientMay(client, requirement.slice("scope:".length)),
    },
    stop: stopListening,
  };
}

export { BUILT_IN_ROLES, PERMISSIONS } from "./authz.catalogue";
