import type { Origin } from "../platform/events/unit-of-work";
import type { Logger } from "../platform/logging/logger";
import { RequestLoaders } from "./loaders";

/** Who is calling, once authenticated. */
export interface Viewer {
  userId: string;
  sessionId: string;
  roles: string[];
  /** How the user proved who they are in this session (RFC 8176). */
  amr: string[];
  /** When they last authenticated, a second factor included (epoch seconds). */
  authTime: number;
}

/** A service client calling with a token of the client credentials grant (`POST /oauth/token`). */
export interface ClientCaller {
  clientId: string;
  /** The scopes its token carries. */
  scopes: string[];
}

/** What a resolver knows of its request. Services come to resolvers by construction, not from here. */
export interface Context {
  requestId: string;
  logger: Logger;
  /** The signed-in user; null for anonymous callers and service clients. */
  viewer: Viewer | null;
  /** The service client whose token is the bearer (then `viewer` is null). */
  client: ClientCaller | null;
  /** Who and where, for audit records and rate limits. */
  origin: Origin;
  /** Fires when the caller has gone before its answer (HTTP: the connection closed). */
  signal?: AbortSignal;
  /** Batches the request's lookups, one loader per module's factory. */
  loaders: RequestLoaders;
}

/** What the transport knows about the caller. */
export interface CallerInfo {
  ipAddress: string | null;
  userAgent: string | null;
  country: string | null;
}

/**
 * A request's context. What most requests never use is made on first use: the logger naming the
 * request (most requests log nothing) and the abandonment signal (login alone listens). A class, so
 * that Apollo's copy of the context (its own properties, onto the same prototype) keeps the getters.
 */
export class RequestContext implements Context {
  readonly viewer: Viewer | null;
  readonly client: ClientCaller | null;
  readonly origin: Origin;
  readonly loaders = new RequestLoaders();
  private scopedLogger: Logger | undefined = undefined;
  private abandoned: AbortSignal | undefined = undefined;

  constructor(
    private readonly serviceLogger: Logger,
    readonly requestId: string,
    bearer: { viewer: Viewer | null; client: ClientCaller | null } | null,
    caller: CallerInfo,
    private readonly abandonment?: () => AbortSignal,
  ) {
    this.viewer = bearer?.viewer ?? null;
    this.client = bearer?.client ?? null;
    const actor: Origin["actor"] = this.viewer ? { type: "user", id: this.viewer.userId } : this.client ? { type: "service", id: this.client.clientId } : { type: "anonymous", id: null };
    this.origin = { actor, ...caller, requestId };
  }

  get logger(): Logger {
    return (this.scopedLogger ??= this.serviceLogger.child({ requestId: this.requestId }));
  }

  get signal(): AbortSignal | undefined {
    return this.abandonment ? (this.abandoned ??= this.abandonment()) : undefined;
  }
}
