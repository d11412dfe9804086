import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { AppError } from "../shared/errors";

/** Converts an AppError to the GraphQLError callers see, outside resolvers (e.g. context creation). */
export function toGraphQLError(error: AppError, httpStatus: number): GraphQLError {
  return new GraphQLError(error.message, { extensions: { code: error.code, ...error.extensions(), http: { status: httpStatus } } });
}

const INTERNAL_MESSAGE = "Internal server error";
/** Apollo's (HTTP) and graphql-js's (WebSocket) refusals of introspection. */
const INTROSPECTION_REFUSED = /introspection (is not allowed|has been disabled)/i;

export interface FormatErrorOptions {
  /** Show unexpected errors as they are (development only). */
  exposeDetails: boolean;
  /** Leave "Did you mean …?" out of every message (production: it names the schema's fields). */
  hideSuggestions: boolean;
}

/**
 * The single mapping from thrown errors to what a caller sees, on both transports. Known errors keep
 * their code and extensions; Apollo's own request errors (parse, validation, bad variables) pass
 * through, a bad variable without its value (it may be a password); anything else becomes
 * INTERNAL_SERVER_ERROR without details (outside development). It is logged by the error-logging
 * plugin, which sees the original error. The transport adds the request id (`withRequestId`).
 */
export function createFormatError(options: FormatErrorOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => toCallerError(formatted, error, options);
}

/** Every error a caller sees names its request (the id on the request's log lines), on both transports. */
export function withRequestId(errors: readonly GraphQLFormattedError[], requestId: string): GraphQLFormattedError[] {
  return errors.map((error) => ({ ...error, extensions: { ...error.extensions, requestId } }));
}

function toCallerError(formatted: GraphQLFormattedError, error: unknown, options: FormatErrorOptions): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) {
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: { code: original.code, ...original.extensions() } };
  }
  if (isRequestRefusal(original)) return { message: formatted.message, extensions: { code: "BAD_REQUEST" } };
  if (!isUnexpected(error)) {
    let client = stripStacktrace(formatted, options.exposeDetails);
    if (client.extensions?.code === "BAD_USER_INPUT") client = withoutValue(client, error);
    if (options.hideSuggestions) client = { ...client, message: client.message.replace(SUGGESTION, "") };
    if (client.extensions?.code === "BAD_USER_INPUT") client = withFields(client);
    if (INTROSPECTION_REFUSED.test(client.message)) return { ...client, extensions: { ...client.extensions, code: "INTROSPECTION_DISABLED" } };
    return client;
  }
  if (options.exposeDetails) return formatted;
  return { message: INTERNAL_MESSAGE, extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/** graphql-js's and Apollo's wording of a suggestion, at the end of a message. */
const SUGGESTION = / ?Did you mean [^?]*\?$/;
/** `Variable "$input" got invalid value <value>[ at "input.email"]` (the part before "; <problem>"). */
const BAD_VARIABLE = /^(Variable "\$[A-Za-z_][A-Za-z0-9_]*" got invalid value) [\s\S]*?(?: at "([^"]{1,200})")?$/;
/** A built-in scalar's refusal ends with the refused value: `String cannot represent a non string value: 5`. */
const SCALAR_VALUE = /( cannot represent [^:]*): [\s\S]*$/;

/**
 * graphql-js words a bad variable `Variable "$input" got invalid value <the whole value> at
 * "input.email"; <problem>`, echoing what was sent (a password, say). The caller gets the variable,
 * the path and the problem, not the value.
 */
function withoutValue(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const problem = error instanceof GraphQLError ? error.originalError?.message : undefined;
  if (problem === undefined || !formatted.message.endsWith(`; ${problem}`)) return formatted;
  const head = BAD_VARIABLE.exec(formatted.message.slice(0, -problem.length - 2));
  if (!head) return formatted;
  const at = head[2] === undefined ? "" : ` at "${head[2]}"`;
  return { ...formatted, message: `${head[1]}${at}; ${problem.replace(SCALAR_VALUE, "$1")}` };
}

/** Codes of errors that describe the request itself and are safe to show. */
const CLIENT_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "UNAUTHENTICATED",
  "INTROSPECTION_DISABLED",
  "QUERY_TOO_COMPLEX",
]);

function isClientErrorCode(code: unknown): boolean {
  return typeof code === "string" && CLIENT_CODES.has(code);
}

function stripStacktrace(formatted: GraphQLFormattedError, keep: boolean): GraphQLFormattedError {
  if (keep || !formatted.extensions || !("stacktrace" in formatted.extensions)) return formatted;
  const { stacktrace: _dropped, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}

/**
 * Apollo reports invalid variables as BAD_USER_INPUT without `fields`; the contract promises them.
 * graphql-js names the variable and, for nested values, the path: `Variable "$input" got invalid
 * value … at "input.email"; …`.
 */
function withFields(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (formatted.extensions?.fields) return formatted;
  const at = /\bat "([^"]{1,200})"/.exec(formatted.message)?.[1];
  const variable = /Variable "\$([A-Za-z_][A-Za-z0-9_]*)"/.exec(formatted.message)?.[1];
  const field = at ?? variable ?? "input";
  return { ...formatted, extensions: { ...formatted.extensions, fields: [{ field, message: formatted.message }] } };
}

/**
 * Apollo's refusals of a request that carry a 4xx status but no code: a persisted query of another
 * version, or whose hash does not match its text. Answered as BAD_REQUEST with Apollo's message.
 */
function isRequestRefusal(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/** True when the error reaching a caller hides an unexpected failure that must be logged. */
export function isUnexpected(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (original instanceof AppError || isRequestRefusal(original)) return false;
  if (original instanceof GraphQLError) return !isClientErrorCode(original.extensions?.code);
  return true;
}
