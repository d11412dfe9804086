import { randomUUID } from "node:crypto";
import type { Server as HttpServer, IncomingMessage } from "node:http";
import { GraphQLError, execute, specifiedRules, subscribe, validate, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from "graphql";
import { GRAPHQL_TRANSPORT_WS_PROTOCOL } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { callerInfo, type CallerOptions } from "../http/client-ip";
import type { Logger } from "../platform/logging/logger";
import { runInRequestScope } from "../platform/logging/request-context";
import type { Authenticator } from "./auth";
import type { CallerInfo, Context, Viewer } from "./context";
import { AppError, isUnexpected } from "./errors";

export interface SubscriptionServerOptions {
  httpServer: HttpServer;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  allowedOrigins: readonly string[];
  callerOptions: CallerOptions;
  validationRules: readonly ValidationRule[];
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  createContext(requestId: string, viewer: Viewer | null, caller: CallerInfo): Context;
  logger: Logger;
}

/** Browsers send Origin; other clients (BFF, mobile) do not, and are let through. */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || allowed.includes("*") || allowed.includes(origin);
}

function offersTransportProtocol(request: IncomingMessage): boolean {
  const header = request.headers["sec-websocket-protocol"] ?? "";
  return header.split(",").some((p) => p.trim() === GRAPHQL_TRANSPORT_WS_PROTOCOL);
}

/**
 * GraphQL over WebSocket on the HTTP server's `/graphql` path: `graphql-transport-ws` only (the
 * legacy `graphql-ws` subprotocol is refused at the handshake), Origin allow-list, the token of
 * `connection_init` checked by the same authenticator as HTTP (4403 when it fails), and the same
 * validation rules as HTTP.
 */
export function createSubscriptionServer(options: SubscriptionServerOptions): { dispose(): Promise<void> } {
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: "/graphql",
    handleProtocols: (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
    verifyClient: ({ req }, done) => {
      if (!offersTransportProtocol(req)) return done(false, 400, `Subprotocol ${GRAPHQL_TRANSPORT_WS_PROTOCOL} required`);
      if (!originAllowed(req.headers.origin, options.allowedOrigins)) return done(false, 403, "Origin not allowed");
      done(true);
    },
  });

  const format = (errors: readonly unknown[]): GraphQLFormattedError[] =>
    errors.map((error) => {
      if (isUnexpected(error)) options.logger.error({ err: error }, "unexpected error");
      const formatted = typeof (error as { toJSON?: unknown }).toJSON === "function" ? (error as { toJSON(): GraphQLFormattedError }).toJSON() : { message: String(error) };
      return options.formatError(formatted, error);
    });

  const server = useServer<Record<string, unknown> | undefined, { viewer?: Viewer | null }>(
    {
      schema: options.schema,
      // As Apollo does over HTTP: validation errors are the caller's, coded GRAPHQL_VALIDATION_FAILED.
      validate: (schema, document) =>
        validate(schema, document, [...specifiedRules, ...options.validationRules]).map(
          (error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }),
        ),
      async onConnect(ctx) {
        const authorization = ctx.connectionParams?.authorization;
        if (authorization !== undefined && typeof authorization !== "string") return false;
        try {
          ctx.extra.viewer = await options.authenticator.authenticate(authorization);
          return true;
        } catch (error) {
          if (error instanceof AppError) return false;
          throw error;
        }
      },
      context: (ctx) =>
        options.createContext(randomUUID(), ctx.extra.viewer ?? null, callerInfo(ctx.extra.request, options.callerOptions)),
      execute: (args) => runInRequestScope({ requestId: (args.contextValue as Context).requestId }, () => execute(args)),
      subscribe: (args) => runInRequestScope({ requestId: (args.contextValue as Context).requestId }, () => subscribe(args)),
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: format(result.errors) } : undefined),
    },
    wsServer,
  );

  return {
    async dispose() {
      await server.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
