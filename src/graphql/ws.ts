import { randomUUID } from "node:crypto";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import { GraphQLError, getOperationAST, type ExecutionArgs, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer, type SubscribePayload } from "graphql-ws";
import { WebSocketServer, type WebSocket } from "ws";
import { callerInfo, type CallerOptions } from "../http/client-ip";
import type { Logger } from "../platform/logging/logger";
import type { Authenticator, Bearer } from "./auth";
import type { CallerInfo, Context } from "./context";
import { AppError } from "../shared/errors";
import { isUnexpected, withRequestId } from "./errors";
import type { OperationGuard } from "./validation";

export interface SubscriptionServerOptions {
  httpServer: HttpServer;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  allowedOrigins: readonly string[];
  callerOptions: CallerOptions;
  guard: OperationGuard;
  /** Largest message accepted (the HTTP body limit): a larger one closes the socket with 1009. */
  maxPayloadBytes: number;
  /** Whether the upgrade request may reach GraphQL at all (the router secret); 401 otherwise. */
  admits(request: IncomingMessage): boolean;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  createContext(requestId: string, bearer: Bearer | null, caller: CallerInfo): Context;
  logger: Logger;
  /** Keep-alive ping interval; a socket that does not answer within it is terminated. */
  keepAliveMs?: number;
  /** Operations a socket may have running at once; one more closes it (1008): a flood of `subscribe` messages ends there. */
  maxOperationsPerSocket: number;
  /** Open sockets per user; one more is closed (1008) as it initialises. */
  maxSocketsPerUser: number;
}

export interface SubscriptionServer {
  /** Closes (4403) every socket authenticated with one of these sessions. */
  endSessions(sessionIds: readonly string[]): void;
  dispose(): Promise<void>;
}

/** Browsers send Origin; other clients (BFF, mobile) do not, and are let through. */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || allowed.includes("*") || allowed.includes(origin);
}

function offersTransportProtocol(request: IncomingMessage): boolean {
  const header = request.headers["sec-websocket-protocol"] ?? "";
  return header.split(",").some((p) => p.trim() === GRAPHQL_TRANSPORT_WS_PROTOCOL);
}

interface SocketState {
  socket: WebSocket;
  request: IncomingMessage;
  /** The `authorization` of connection_init, authenticated again before every operation. */
  authorization?: string;
  bearer?: Bearer | null;
  /** The ids of its operations running now. */
  running: Set<string>;
}

/** WebSocket's own "policy violation": the socket broke a limit of this server. */
const POLICY_VIOLATION = 1008;

const withCode = (error: GraphQLError, code: string) => new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { code } });

/**
 * GraphQL over WebSocket on the HTTP server's `/graphql` path, bound to `ws` here (not through
 * graphql-ws's `useServer`, which logs with console.error and closes the socket on a syntax error):
 * - the handshake: `graphql-transport-ws` only, Origin allow-list, the router secret;
 * - messages no larger than the HTTP body limit;
 * - the token of `connection_init` checked by the same authenticator as HTTP (4403 when it fails),
 *   and checked again before every operation, so an expired token or an ended session runs
 *   nothing more (4403); `endSessions` closes the sockets of ended sessions as soon as it is told;
 * - every document parsed and validated by the same guard as HTTP; a syntax or validation error is
 *   an `error` message for that operation, and the socket stays open;
 * - problems are logged through pino only.
 */
export function createSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { logger } = options;
  const bySession = new Map<string, Set<WebSocket>>();
  const byUser = new Map<string, Set<WebSocket>>();
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: "/graphql",
    maxPayload: options.maxPayloadBytes,
    handleProtocols: (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
    verifyClient: ({ req }, done) => {
      if (!options.admits(req)) return done(false, 401, "Unauthorized");
      if (!offersTransportProtocol(req)) return done(false, 400, `Subprotocol ${GRAPHQL_TRANSPORT_WS_PROTOCOL} required`);
      if (!originAllowed(req.headers.origin, options.allowedOrigins)) return done(false, 403, "Origin not allowed");
      done(true);
    },
  });

  const add = (index: Map<string, Set<WebSocket>>, key: string | undefined, socket: WebSocket) => {
    if (!key) return;
    let sockets = index.get(key);
    if (!sockets) index.set(key, (sockets = new Set()));
    sockets.add(socket);
  };
  const remove = (index: Map<string, Set<WebSocket>>, key: string | undefined, socket: WebSocket) => {
    const sockets = key ? index.get(key) : undefined;
    if (!key || !sockets) return;
    sockets.delete(socket);
    if (sockets.size === 0) index.delete(key);
  };
  /** Indexes an authenticated socket by session and by user; false when the user already has as many open as allowed. */
  const track = (state: SocketState): boolean => {
    const viewer = state.bearer?.viewer;
    if (viewer && (byUser.get(viewer.userId)?.size ?? 0) >= options.maxSocketsPerUser) return false;
    add(bySession, viewer?.sessionId, state.socket);
    add(byUser, viewer?.userId, state.socket);
    return true;
  };
  const untrack = (state: SocketState) => {
    remove(bySession, state.bearer?.viewer?.sessionId, state.socket);
    remove(byUser, state.bearer?.viewer?.userId, state.socket);
  };

  const format = (errors: readonly unknown[], requestId: string): GraphQLFormattedError[] =>
    withRequestId(
      errors.map((error) => {
        if (isUnexpected(error)) logger.error({ err: error, requestId }, "unexpected error");
        const formatted = typeof (error as { toJSON?: unknown }).toJSON === "function" ? (error as { toJSON(): GraphQLFormattedError }).toJSON() : { message: String(error) };
        return options.formatError(formatted, error);
      }),
      requestId,
    );
  /** The request id of each operation, by its subscribe message's payload (the object its result and error hooks get too). */
  const requestIds = new WeakMap<object, string>();
  const requestIdOf = (payload: object): string => requestIds.get(payload) ?? randomUUID();

  /** The caller of the next operation: the token must still verify and its session be open (its client enabled). */
  const reauthenticate = async (state: SocketState): Promise<Bearer | null> => {
    if (state.authorization === undefined) return null;
    try {
      return await options.authenticator.authenticate(state.authorization);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      state.socket.close(CloseCode.Forbidden, "Forbidden");
      throw error;
    }
  };

  /** An operation's arguments, or why it is refused: its caller authenticated again, its document parsed and validated. */
  const prepare = async (state: SocketState, payload: SubscribePayload, requestId: string): Promise<ExecutionArgs | GraphQLError[]> => {
    let bearer: Bearer | null;
    try {
      bearer = await reauthenticate(state);
    } catch (error) {
      return [new GraphQLError((error as Error).message, { extensions: { code: "UNAUTHENTICATED" } })];
    }
    let document: DocumentNode;
    try {
      document = options.guard.parse(payload.query);
    } catch (error) {
      if (error instanceof GraphQLError) return [withCode(error, "GRAPHQL_PARSE_FAILED")];
      throw error;
    }
    const invalid = options.guard.validate(options.schema, document);
    if (invalid.length > 0) return invalid.map((error) => withCode(error, "GRAPHQL_VALIDATION_FAILED"));
    const operation = getOperationAST(document, payload.operationName)?.operation;
    if (operation && !options.schema.getRootType(operation)) {
      return [new GraphQLError(`This schema has no ${operation} operations`, { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })];
    }
    return {
      schema: options.schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      contextValue: options.createContext(requestId, bearer, callerInfo(state.request, options.callerOptions)),
    };
  };

  const server = makeServer<Record<string, unknown> | undefined, SocketState>({
    schema: options.schema,
    async onConnect(ctx) {
      const authorization = ctx.connectionParams?.authorization;
      if (authorization !== undefined && typeof authorization !== "string") return false;
      try {
        ctx.extra.bearer = await options.authenticator.authenticate(authorization);
      } catch (error) {
        if (error instanceof AppError) return false;
        throw error;
      }
      if (authorization) ctx.extra.authorization = authorization;
      if (!track(ctx.extra)) {
        ctx.extra.socket.close(POLICY_VIOLATION, "Too many sockets for this user");
        return false;
      }
      return true;
    },
    async onSubscribe(ctx, id, payload) {
      const requestId = randomUUID();
      requestIds.set(payload, requestId);
      const { running } = ctx.extra;
      if (running.size >= options.maxOperationsPerSocket) {
        ctx.extra.socket.close(POLICY_VIOLATION, "Too many operations on this socket");
        return [new GraphQLError("Too many operations on this socket", { extensions: { code: "RATE_LIMITED" } })];
      }
      running.add(id);
      const prepared = await prepare(ctx.extra, payload, requestId);
      // An operation refused before it ran is over; one that runs ends in onComplete.
      if (Array.isArray(prepared)) running.delete(id);
      return prepared;
    },
    onComplete: (ctx, id) => void ctx.extra.running.delete(id),
    onError: (_ctx, _id, payload, errors) => format(errors, requestIdOf(payload)),
    onNext: (_ctx, _id, payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors, requestIdOf(payload)) } : undefined),
  });

  const keepAliveMs = options.keepAliveMs ?? 12_000;
  wsServer.on("error", (error) => logger.error({ err: error }, "WebSocket server error"));
  wsServer.on("connection", (socket, request) => {
    const state: SocketState = { socket, request, running: new Set() };
    let alive = true;
    socket.on("pong", () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, keepAliveMs);
    socket.on("error", (error) => {
      logger.warn({ err: { message: error.message } }, "WebSocket error");
      socket.close(CloseCode.BadRequest, "Invalid message received");
    });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              // graphql-ws throws on a protocol violation (an unknown message type, say).
              logger.warn({ err: { message: (error as Error).message } }, "WebSocket message refused");
              socket.close(CloseCode.BadRequest, "Invalid message received");
            }
          }),
      },
      state,
    );
    socket.once("close", (code, reason) => {
      clearInterval(ping);
      untrack(state);
      void closed(code, String(reason)).catch((error: unknown) => logger.error({ err: error }, "WebSocket close handler failed"));
    });
  });

  return {
    endSessions(sessionIds) {
      for (const sessionId of sessionIds) {
        for (const socket of bySession.get(sessionId) ?? []) socket.close(CloseCode.Forbidden, "Session has ended");
      }
    },
    async dispose() {
      for (const client of wsServer.clients) client.close(1001, "Going away");
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
