import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config";
import type { KeyVault } from "../platform/crypto/vault";
import type { SealedStores } from "../platform/crypto/rewrap";
import type { BackgroundTasks } from "../platform/background-tasks";
import type { Clock } from "../platform/clock";
import type { Prisma } from "../platform/db/database";
import type { SqlClient } from "../platform/db/sql";
import type { EventHandlers } from "../platform/events/handlers";
import type { UnitOfWork } from "../platform/events/unit-of-work";
import type { Jobs } from "../platform/jobs/jobs";
import type { Logger } from "../platform/logging/logger";
import type { RateLimitStore } from "../platform/ratelimit/store";
import type { Context } from "../graphql/context";
import type { RequirementDeciders } from "../graphql/auth-checker";
import type { SingleUseFields } from "../graphql/validation";
import type { EventCatalogue } from "../platform/events/catalogue";
import type { NotificationTemplates } from "../platform/events/notifications";
import type { ConfigPart } from "../shared/config-spec";

/** The platform every module may use, built once by the composition root. */
export interface Kernel {
  prisma: Prisma;
  /** The same database without Prisma: prepared statements for hot reads. */
  sql: SqlClient;
  unitOfWork: UnitOfWork;
  rateLimits: RateLimitStore;
  clock: Clock;
  background: BackgroundTasks;
  logger: Logger;
  config: Config;
  /** The one place secrets at rest are sealed (envelope encryption, bound to owner and purpose). */
  vault: KeyVault;
  /** Internal event consumers register here, before the relay starts. */
  handlers: EventHandlers;
  /** Background work off the request path (BullMQ in service mode); handlers are defined before the start. */
  jobs: Jobs;
}

/**
 * How a module resolves references to one of its federated entities (`_entities`): every reference
 * of a request to that type in one call, resolving with a value (or null) for each, in their order.
 */
export type ReferenceResolver = (references: readonly Record<string, unknown>[], context: Context) => Promise<readonly unknown[]>;

/**
 * An HTTP route a module serves outside GraphQL (webhooks, redirects, documents), as a plain
 * `node:http` handler, so that the server underneath can change without touching modules.
 * A rejected promise is answered 500 without detail and logged.
 */
export interface Route {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** An exact path (no parameters, no query): `/.well-known/jwks.json`, `/webhooks/sumsub`. */
  readonly path: string;
  /** `requestId`: the request's id (its log line's, its error bodies'), for the lines the route logs. */
  handle(request: IncomingMessage, response: ServerResponse, requestId: string): void | Promise<void>;
}

/**
 * A capability, as the composition root sees it: a value built by the module's factory
 * `(kernel, deps) => Module` in its `index.ts`, the only file another module may import.
 */
export interface Module<Api = unknown> {
  readonly name: string;
  /** The only thing other modules may call. */
  readonly api: Api;
  /** Resolver instances: they get their services by construction. */
  readonly resolvers: readonly object[];
  /** Federated entities this module owns, by type name. */
  readonly entities?: Readonly<Record<string, ReferenceResolver>>;
  /** The requirements of `@Authorized(...)` it decides, by kind (`perm` for users, `scope` for service clients); a kind two modules decide stops the start. */
  readonly decides?: RequirementDeciders;
  /** Its HTTP routes; a method and path that two modules serve stops the start. */
  readonly routes?: readonly Route[];
  stop?(): Promise<void>;
}

/**
 * What a module (or the platform) declares, each kind by name, in `<module>.declarations.ts`, a
 * file without decorators or services (configuration loads it). src/modules/declarations.ts
 * merges every owner's; a name declared twice stops the start.
 */
export interface Declarations {
  readonly events?: EventCatalogue;
  readonly config?: ConfigPart;
  readonly notifications?: NotificationTemplates;
  readonly singleUseFields?: SingleUseFields;
  /** The tables holding values sealed by the key vault (keys:rewrap re-seals them). */
  readonly sealedStores?: SealedStores;
}
