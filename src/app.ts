import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import type { Redis } from "ioredis";
import { loadConfig, type Config } from "./config";
import { bearerAuthenticator, type Bearer } from "./graphql/auth";
import { RequestContext, type CallerInfo, type Context } from "./graphql/context";
import { accountsModule } from "./modules/accounts";
import { adminModule } from "./modules/admin";
import { singleUseFields } from "./modules/declarations";
import { auditModule } from "./modules/audit";
import { authzModule } from "./modules/authz";
import { clientsModule } from "./modules/clients";
import { kycModule } from "./modules/kyc";
import { mfaModule } from "./modules/mfa";
import { preferencesModule } from "./modules/preferences";
import { tradingAccountsModule } from "./modules/trading-accounts";
import type { Kernel } from "./modules/module";
import { sessionsModule } from "./modules/sessions";
import { roleOf } from "./modules/trading-accounts/access";
import { usersModule } from "./modules/users";
import { createFormatError, toGraphQLError } from "./graphql/errors";
import { AppError } from "./shared/errors";
import { observabilityPlugin, subscriptionsOverWebSocketOnly } from "./graphql/plugins";
import { RememberedOperations } from "./graphql/remembered-operations";
import { buildFederatedSchema, printSchemaFiles } from "./graphql/schema";
import { createOperationGuard } from "./graphql/validation";
import { createSubscriptionServer } from "./graphql/ws";
import { abandonedSignal } from "./http/abandoned";
import { callerInfo } from "./http/client-ip";
import { graphqlBody, onlyMutationOf } from "./http/graphql-body";
import { healthRoutes, type ReadinessCheck } from "./http/health";
import { routerGate } from "./http/router-gate";
import { RouteTable } from "./http/routes";
import { httpHandler } from "./http/server";
import { contractOperationNames } from "./graphql/operations";
import { AccessTokens, ClientTokens } from "./platform/jwt/access-tokens";
import { KeyStore, longestTokenTtlMs } from "./platform/jwt/keys";
import { BackgroundTasks } from "./platform/background-tasks";
import { createKeyVault } from "./platform/crypto/create-vault";
import { PasswordHasher } from "./platform/crypto/passwords";
import { openDatabase, type Database } from "./platform/db/database";
import type { Logger } from "./platform/logging/logger";
import { Metrics } from "./platform/metrics/metrics";
import { createMemoryPubSub, createRedisPubSub, pubSubPrefix, type PubSub } from "./platform/pubsub/pubsub";
import { FallbackRateLimitStore, MemoryRateLimitStore, RedisRateLimitStore, type RateLimitStore } from "./platform/ratelimit/store";
import { assertDurableRedis, createRedis } from "./platform/redis/redis";
import { systemClock, type Clock } from "./platform/clock";
import { createEvents, type Events } from "./platform/events/events";
import { EventHandlers } from "./platform/events/handlers";
import { BullTransport, LogTransport } from "./platform/events/transports";
import { BullJobs, LocalJobs, type Jobs } from "./platform/jobs/jobs";

export interface AppOptions {
  logger: Logger;
  /** Prefix of every Redis key and channel of this deployment (tests isolate runs with it). */
  redisPrefix?: string;
  clock?: Clock;
}

/** Infrastructure chosen once at start-up: the seam between embedded and service mode. */
export interface Platform {
  clock: Clock;
  database: Database;
  events: Events;
  /** Service mode only. */
  redis: Redis | null;
  pubSub: PubSub;
  rateLimits: RateLimitStore;
  jobs: Jobs;
  readiness: ReadinessCheck[];
  close(): Promise<void>;
}

async function createPlatform(config: Config, options: AppOptions, metrics: Metrics): Promise<Platform> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const database = await openDatabase(config, logger, metrics);
  if (config.MIGRATE_ON_START) await database.migrate();
  const readiness: ReadinessCheck[] = [{ name: "database", check: () => database.ping() }];
  const jobOptions = { attempts: config.JOBS_ATTEMPTS, backoffMs: config.JOBS_BACKOFF_MS, concurrency: config.JOBS_CONCURRENCY, logger };
  if (config.mode === "embedded") {
    const events = createEvents({ config, prisma: database.prisma, sql: database.sql, transport: new LogTransport(logger), clock, logger, metrics });
    const jobs = new LocalJobs(jobOptions);
    return {
      clock,
      database,
      events,
      redis: null,
      pubSub: createMemoryPubSub(),
      rateLimits: new MemoryRateLimitStore(),
      jobs,
      readiness,
      async close() {
        await jobs.stop();
        await events.stop();
        await database.close();
      },
    };
  }
  const prefix = options.redisPrefix ?? config.REDIS_PREFIX;
  const redis = createRedis(config.REDIS_URL as string, logger, "main", config.REDIS_COMMAND_TIMEOUT_MS);
  const subscriber = createRedis(config.REDIS_URL as string, logger, "subscriber", config.REDIS_COMMAND_TIMEOUT_MS);
  const closeRedis = () => {
    subscriber.disconnect();
    redis.disconnect();
  };
  if (config.REDIS_REQUIRE_DURABILITY) await assertDurableRedis(redis).catch((error: unknown) => {
    closeRedis();
    throw error;
  });
  readiness.push({ name: "redis", check: async () => void (await redis.ping()) });
  const transport = new BullTransport(redis, { prefix: config.QUEUE_PREFIX, retentionSeconds: config.QUEUE_RETENTION_S, notificationRetentionSeconds: config.NOTIFICATION_RETENTION_S });
  const events = createEvents({ config, prisma: database.prisma, sql: database.sql, transport, clock, logger, metrics });
  const jobs = new BullJobs(redis, config.REDIS_URL as string, config.QUEUE_PREFIX, config.JOBS_WORKER, jobOptions);
  return {
    clock,
    database,
    events,
    redis,
    pubSub: createRedisPubSub(redis, subscriber, pubSubPrefix(prefix)),
    rateLimits: new FallbackRateLimitStore(new RedisRateLimitStore(redis, `${prefix}ratelimit:`), new MemoryRateLimitStore(), () =>
      logger.debug("Redis unreachable: rate limits counted per instance"),
    ),
    jobs,
    readiness,
    async close() {
      await jobs.stop();
      await events.stop();
      closeRedis();
      await database.close();
    },
  };
}

export interface App {
  readonly config: Config;
  readonly platform: Platform;
  readonly metrics: Metrics;
  /** The modules by name (their APIs serve tests that need no HTTP). */
  readonly modules: Modules;
  readonly httpServer: Server;
  /** The port of the separate /metrics listener (METRICS_PORT), once listening. */
  metricsPort(): number | null;
  /** Starts listening; resolves with the bound port (use port 0 for a free one). */
  listen(port?: number, host?: string): Promise<number>;
  /** Graceful: refuses new work, lets in-flight requests finish, closes sockets and pools. */
  stop(): Promise<void>;
}

/** What the modules take from the platform besides the kernel. */
export interface ModuleParts {
  tokens: AccessTokens;
  /** Service clients' tokens (client credentials), signed with the same keys. */
  clientTokens: ClientTokens;
  /** The signing keys, for the JWKS route. */
  keys: Pick<KeyStore, "jwks">;
  hasher: PasswordHasher;
  redis: Redis | null;
  pubSub: PubSub;
  redisPrefix: string;
  metrics: Metrics;
}

export type Modules = ReturnType<typeof createModules>;

/** Every module, one line each, in dependency order. */
export function createModules(kernel: Kernel, parts: ModuleParts) {
  const users = usersModule(kernel);
  const authz = authzModule(kernel, { pubSub: parts.pubSub, users: users.api });
  const sessions = sessionsModule(kernel, { ...parts, claims: authz.api.claims, users: users.api });
  const accounts = accountsModule(kernel, { hasher: parts.hasher, sessions: sessions.api, users: users.api, registered: authz.api.registered });
  const mfa = mfaModule(kernel, { hasher: parts.hasher, sessions: sessions.api, users: users.api });
  const audit = auditModule(kernel, { users: users.api });
  const admin = adminModule(kernel, { sessions: sessions.api, authz: authz.api });
  const clients = clientsModule(kernel, { tokens: parts.clientTokens, sessions: sessions.api, pubSub: parts.pubSub, authz: authz.api });
  const kyc = kycModule(kernel, { authz: authz.api, users: users.api, pubSub: parts.pubSub, registry: parts.metrics.registry });
  const preferences = preferencesModule(kernel, { users: users.api, tradingAccountRole: (userId, accountId) => roleOf(kernel.prisma, userId, accountId) });
  const tradingAccounts = tradingAccountsModule(kernel, { authz: authz.api, users: users.api, defaults: preferences.api });
  return { users, authz, sessions, accounts, mfa, audit, admin, clients, kyc, preferences, "trading-accounts": tradingAccounts };
}

/** A part of the platform that refuses every use: the modules built for their schema only. */
function offline<T>(what: string): T {
  return new Proxy(
    {},
    {
      get: (_target, property) => {
        if (property === "then" || typeof property === "symbol") return undefined;
        throw new Error(`${what} is not available while only the schema is built`);
      },
    },
  ) as T;
}

/**
 * The schema files, built without a database or Redis (the modules over an offline platform):
 * `subgraph` is the SDL the router sees, `api` the executable schema (the codegen input).
 */
export async function schemaFiles(): Promise<{ subgraph: string; api: string }> {
  const kernel: Kernel = {
    prisma: offline("the database"),
    sql: offline("the database"),
    unitOfWork: offline("the unit of work"),
    rateLimits: offline("rate limits"),
    clock: systemClock,
    background: offline("background tasks"),
    logger: offline("the logger"),
    config: loadConfig({}),
    handlers: new EventHandlers(),
    vault: offline("the key vault"),
    jobs: new LocalJobs({ attempts: 1, backoffMs: 1, concurrency: 1, logger: offline("the logger") }),
  };
  const pubSub = createMemoryPubSub();
  const modules = createModules(kernel, { tokens: offline("access tokens"), clientTokens: offline("client tokens"), keys: offline("signing keys"), hasher: offline("the password hasher"), redis: null, pubSub, redisPrefix: "", metrics: new Metrics() });
  return printSchemaFiles(await buildFederatedSchema(Object.values(modules), pubSub, systemClock));
}

/** The composition root: builds every dependency once and wires them. */
export async function createApp(config: Config, options: AppOptions): Promise<App> {
  const metrics = new Metrics();
  const platform = await createPlatform(config, options, metrics);
  try {
    return await assemble(config, options, metrics, platform);
  } catch (error) {
    // A start that fails midway closes what it opened (pools, Redis, background loops).
    await platform.close().catch(() => undefined);
    throw error;
  }
}

async function assemble(config: Config, options: AppOptions, metrics: Metrics, platform: Platform): Promise<App> {
  const { logger } = options;
  const clock = platform.clock;
  const prisma = platform.database.prisma;
  const vault = createKeyVault(config);
  const keys = new KeyStore(prisma, vault, config.JWT_ALGORITHM, longestTokenTtlMs(config), clock, config.JWT_KEYS_RELOAD_S * 1000);
  await keys.init();
  const tokens = new AccessTokens(keys, { issuer: config.PUBLIC_URL, audience: config.JWT_AUDIENCE, ttlSeconds: config.ACCESS_TOKEN_TTL_S }, clock);
  const clientTokens = new ClientTokens(keys, { issuer: config.PUBLIC_URL, audience: config.JWT_AUDIENCE, ttlSeconds: config.CLIENT_TOKEN_TTL_S }, clock);
  const hasher = new PasswordHasher(config.BCRYPT_COST, config.BCRYPT_THREADS, metrics.hashing, config.BCRYPT_THREADS * config.BCRYPT_QUEUE_PER_THREAD);
  const background = new BackgroundTasks(logger);
  const kernel: Kernel = { prisma, sql: platform.database.sql, unitOfWork: platform.events.unitOfWork, rateLimits: platform.rateLimits, clock, background, logger, config, handlers: platform.events.handlers, vault, jobs: platform.jobs };
  const modules = createModules(kernel, { tokens, clientTokens, keys, hasher, redis: platform.redis, pubSub: platform.pubSub, redisPrefix: options.redisPrefix ?? config.REDIS_PREFIX, metrics });
  const { revocations } = modules.sessions.api;
  const authenticator = bearerAuthenticator(modules.sessions.api.userTokens, modules.clients.api.clientTokens);
  const schema = await buildFederatedSchema(Object.values(modules), platform.pubSub, clock, (context, field, reason) =>
    // In the background: a refusal answers in the same time whatever is recorded.
    void background.run("refused authorization record", () =>
      platform.events.unitOfWork.run(context.origin, async (scope) => scope.audit({ action: `graphql.${field}`, outcome: "denied", metadata: { reason } })),
    ),
  );
  const guard = createOperationGuard({
    maxDepth: config.GRAPHQL_MAX_DEPTH,
    maxCost: config.GRAPHQL_MAX_COST,
    maxAliases: config.GRAPHQL_MAX_ALIASES,
    maxSelections: config.GRAPHQL_MAX_RECURSIVE_SELECTIONS,
    maxRepeats: config.GRAPHQL_MAX_REPEATS,
    maxTokens: config.GRAPHQL_MAX_TOKENS,
    singleUse: Object.keys(singleUseFields).sort(),
    introspection: config.GRAPHQL_INTROSPECTION,
    hideSuggestions: config.production,
  });
  const formatError = createFormatError({ exposeDetails: !config.production && config.NODE_ENV === "development", hideSuggestions: config.production });
  const createContext = (requestId: string, bearer: Bearer | null, caller: CallerInfo, abandonment?: () => AbortSignal): Context => new RequestContext(logger, requestId, bearer, caller, abandonment);

  const httpServer = createServer();
  httpServer.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  httpServer.headersTimeout = Math.min(config.HTTP_REQUEST_TIMEOUT_MS, 20_000);

  const callerOptions = { trustedProxies: config.TRUSTED_PROXIES, countryHeader: config.COUNTRY_HEADER };
  let shuttingDown = false;
  const routerOnly = routerGate(config);
  const subscriptions = createSubscriptionServer({
    httpServer,
    schema,
    authenticator,
    allowedOrigins: config.CORS_ORIGINS,
    callerOptions,
    guard,
    maxPayloadBytes: config.HTTP_BODY_LIMIT_BYTES,
    maxOperationsPerSocket: config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
    maxSocketsPerUser: config.WS_MAX_SOCKETS_PER_USER,
    admits: routerOnly.admits,
    formatError,
    createContext,
    logger,
  });
  const stopClosingEndedSessions = revocations.onEnded((sessionIds) => subscriptions.endSessions(sessionIds));
  for (const name of await contractOperationNames()) metrics.operationLabel(name);

  // What is asked most: the router's user entities, the viewer and a profile, every client's refresh.
  const remembered = new RememberedOperations({ schema, metrics, formatError, rootFields: ["_entities", "me", "user", "refreshTokens"] });
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.GRAPHQL_INTROSPECTION,
    parseOptions: guard.parseOptions,
    validationRules: [...guard.rules],
    validationOptions: guard.validationOptions,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    stopOnTerminationSignals: false, // main.ts owns shutdown
    formatError,
    logger,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.SHUTDOWN_TIMEOUT_MS }),
      { serverWillStart: async () => ({ drainServer: () => subscriptions.dispose() }) },
      config.GRAPHQL_LANDING_PAGE ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }) : ApolloServerPluginLandingPageDisabled(),
      // No @cacheControl hints here (everything is per person): skip the per-field hint bookkeeping.
      ApolloServerPluginCacheControlDisabled(),
      observabilityPlugin(metrics),
      subscriptionsOverWebSocketOnly,
      remembered.plugin,
    ],
  });
  await apollo.start();
  await platform.events.start();
  await platform.jobs.start();
  // Started last of what may fail: a start that fails midway leaves no watcher behind.
  const keyWatcher = await keys.watch(config.mode === "service" ? (config.DATABASE_URL as string) : null, logger);

  const metricsServer = config.METRICS_PORT === null ? null : createServer(metricsHandler(metrics));
  const routes = new RouteTable([
    { name: "health", routes: healthRoutes(platform.readiness, () => shuttingDown) },
    // Beside the API only when no separate listener serves it.
    { name: "metrics", routes: metricsServer ? [] : [{ method: "GET", path: "/metrics", handle: metricsHandler(metrics) }] },
    ...Object.values(modules),
  ]);
  httpServer.on(
    "request",
    httpHandler({
      logger,
      routes,
      graphql: {
        apollo,
        remembered,
        gate: routerOnly,
        allowedOrigins: config.CORS_ORIGINS,
        readBody: graphqlBody({
          limitBytes: config.HTTP_BODY_LIMIT_BYTES,
          // A verification document comes as base64 in the one operation that takes it, counted apart (issue 14).
          largeValue: {
            path: ["variables", "input", "contentBase64"],
            maxBytes: Math.ceil((config.MAX_DOCUMENT_SIZE_MB * 1_048_576) / 3) * 4,
            allowedWhen: onlyMutationOf("uploadVerificationDocument", guard.parse),
            tooLarge: `The document is larger than MAX_DOCUMENT_SIZE_MB (${config.MAX_DOCUMENT_SIZE_MB} MB)`,
          },
        }),
        async context(req, res, requestId) {
          try {
            return createContext(requestId, await authenticator.authenticate(req.headers.authorization), callerInfo(req, callerOptions), () => abandonedSignal(res));
          } catch (error) {
            if (error instanceof AppError) throw toGraphQLError(error, 401);
            throw error;
          }
        },
      },
    }),
  );

  return {
    config,
    platform,
    metrics,
    modules,
    httpServer,
    metricsPort: () => (metricsServer?.listening ? (metricsServer.address() as AddressInfo).port : null),
    async listen(port = config.PORT, host = config.HOST) {
      if (metricsServer && config.METRICS_PORT !== null) await listenOn(metricsServer, config.METRICS_PORT, host);
      return listenOn(httpServer, port, host);
    },
    async stop() {
      shuttingDown = true;
      remembered.close();
      await stopClosingEndedSessions();
      await apollo.stop();
      if (metricsServer?.listening) await new Promise((resolve) => metricsServer.close(resolve));
      await background.drain();
      await platform.jobs.stop();
      for (const module of Object.values(modules).reverse()) await module.stop?.();
      await hasher.close();
      await keyWatcher.stop();
      await platform.close();
    },
  };
}

function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function metricsHandler(metrics: Metrics) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  };
}
