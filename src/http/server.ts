import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type HTTPGraphQLResponse } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";
import type { Context } from "../graphql/context";
import { withRequestId } from "../graphql/errors";
import type { RememberedOperations } from "../graphql/remembered-operations";
import type { Logger } from "../platform/logging/logger";
import { requestIdFrom } from "../platform/logging/request-context";
import { answerCors } from "./cors";
import { BodyRefusal, type GraphqlBodyReader } from "./graphql-body";
import { httpError, sendJson } from "./http-error";
import type { RouterGate } from "./router-gate";
import type { RouteTable } from "./routes";

/** What /graphql is made of. */
export interface GraphqlEndpoint {
  apollo: ApolloServer<Context>;
  /** Run first: a request the router did not send gets 401 and nothing else. */
  gate: RouterGate;
  allowedOrigins: readonly string[];
  readBody: GraphqlBodyReader;
  /** The hottest operations, answered without Apollo's pipeline once Apollo has validated them. */
  remembered: RememberedOperations;
  /** Made once Apollo has checked the request (CSRF), when it executes an operation. */
  context(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<Context>;
}

export interface HttpParts {
  logger: Logger;
  /** Health, metrics and the modules' routes, by method and exact path. */
  routes: RouteTable;
  graphql: GraphqlEndpoint;
}

const GRAPHQL_PATH = "/graphql";

/**
 * The service's HTTP handler, on plain node:http: every request gets a request id (the caller's
 * `x-request-id` if sane), echoed, on its log line once answered, on every error its answer carries
 * and in the GraphQL context; then the routes, GraphQL at /graphql through Apollo's
 * executeHTTPGraphQLRequest, and a JSON 404 for the rest.
 */
export function httpHandler({ logger, routes, graphql }: HttpParts): RequestListener {
  const serveGraphql = graphqlHandler(graphql);
  return (req, res) => {
    const requestId = requestIdFrom(req.headers["x-request-id"]);
    res.setHeader("x-request-id", requestId);
    const path = (req.url ?? "/").split("?")[0] as string;
    const level = path.startsWith("/health") || path === "/metrics" ? "debug" : "info";
    // Off at the level the service runs at: no timer nor listener per request.
    if (logger.isLevelEnabled(level)) {
      const started = process.hrtime.bigint();
      res.once("finish", () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        logger[level]({ requestId, method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, "request");
      });
    }
    const fail = (error: unknown) => answerFailure(logger, res, requestId, error);
    if (routes.serve(req, res, requestId, fail)) return;
    if (path === GRAPHQL_PATH) serveGraphql(req, res, requestId).catch(fail);
    else sendJson(res, 404, httpError("NOT_FOUND", "No such route", requestId));
  };
}

function graphqlHandler({ apollo, gate, allowedOrigins, readBody, remembered, context }: GraphqlEndpoint) {
  return async (req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> => {
    if (!gate.admits(req)) return sendJson(res, 401, httpError("UNAUTHENTICATED", "This subgraph answers the router only", requestId));
    if (answerCors(req, res, allowedOrigins)) return;
    const body = await readBody(req, res);
    const answer = await remembered.answer(req.method, req.headers, body, () => context(req, res, requestId));
    if (answer) {
      for (const [name, value] of answer.headers) res.setHeader(name, value);
      res.setHeader("content-type", answer.contentType);
      res.statusCode = answer.status;
      return void res.end(naming(answer.body, requestId));
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    const url = req.url ?? "";
    const query = url.indexOf("?");
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? "GET", headers, search: query === -1 ? "" : url.slice(query), body },
      context: () => context(req, res, requestId),
    });
    await writeResponse(res, response, requestId);
  };
}

async function writeResponse(res: ServerResponse, { status, headers, body }: HTTPGraphQLResponse, requestId: string): Promise<void> {
  for (const [name, value] of headers) res.setHeader(name, value);
  // The landing page's text/html says no charset (express added it, as here).
  const type = headers.get("content-type");
  if (type && !type.includes("charset=")) res.setHeader("content-type", `${type}; charset=utf-8`);
  res.statusCode = status ?? 200;
  if (body.kind === "complete") return void res.end(naming(body.string, requestId));
  for await (const chunk of body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * Apollo writes an answer's errors first (`{"errors":[…`), an answer it refuses before execution
 * too; only such answers are read again, to put the request id on each error.
 */
const ERRORS_FIRST = '{"errors":';

function naming(body: string, requestId: string): string {
  if (!body.startsWith(ERRORS_FIRST)) return body;
  const answer = JSON.parse(body) as { errors: GraphQLFormattedError[] };
  return `${JSON.stringify({ ...answer, errors: withRequestId(answer.errors, requestId) })}\n`;
}

/** Body refusals and other failures outside GraphQL execution: a JSON error naming the problem, never a stack. */
function answerFailure(logger: Logger, res: ServerResponse, requestId: string, error: unknown): void {
  if (error instanceof BodyRefusal) return sendJson(res, error.status, httpError(error.status === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST", error.message, requestId));
  logger.error({ err: error, requestId }, "unexpected HTTP error");
  // Midway through an answer nothing can be said any more: the client sees the connection end.
  if (res.headersSent) res.destroy();
  else sendJson(res, 500, httpError("INTERNAL_SERVER_ERROR", "Internal server error", requestId));
}
