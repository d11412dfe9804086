import type { IncomingHttpHeaders } from "node:http";
import type { ApolloServerPlugin } from "@apollo/server";
import Negotiator from "negotiator";
import { execute, Kind, OperationTypeNode, type DocumentNode, type GraphQLError, type GraphQLFormattedError, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { Metrics } from "../platform/metrics/metrics";
import type { Context } from "./context";
import { logUnexpectedErrors, recordOperation } from "./plugins";

export interface RememberedOperationsOptions {
  schema: GraphQLSchema;
  metrics: Metrics;
  /** Apollo's `formatError` (stack traces are never in answers: `includeStacktraceInErrorResponses` is false). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** The root fields a remembered operation may select (the hot ones). */
  rootFields: readonly string[];
  /** Most operations remembered; past it, new ones are Apollo's every time. */
  maxOperations?: number;
  /** Longest query text remembered (the router's are a few hundred characters). */
  maxQueryLength?: number;
}

interface Remembered {
  document: DocumentNode;
  type: OperationTypeNode;
  /** The operation's name, for `operationName` and the metrics. */
  name: string | undefined;
}

/** The answer to a remembered operation, as Apollo would have given it. */
export interface RememberedAnswer {
  status: number;
  /** Beside the content type: what errors asked for in `extensions.http.headers`. */
  headers: ReadonlyMap<string, string>;
  contentType: string;
  body: string;
}

/** Apollo's media types for a single result, in its order (`chooseContentTypeForSingleResultResponse`). */
const SINGLE_RESULT_TYPES = ["application/json; charset=utf-8", "application/graphql-response+json; charset=utf-8", "application/json; callbackSpec=1.0; charset=utf-8"];
/** The header with which the router asks for a federated trace (Apollo's inline-trace plugin answers it). */
const TRACE_HEADER = "apollo-federation-include-trace";
const MAX_ACCEPT_HEADERS = 64;
/** A successful answer's headers beyond the content type: none (shared, never written to). */
const NO_HEADERS: ReadonlyMap<string, string> = new Map();
const INTERNAL_ERROR: GraphQLFormattedError = { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };

/** Apollo's test of a body's `variables` (`isStringRecord`). */
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Buffer.isBuffer(value) && !Array.isArray(value);

/**
 * The hottest operations served again without Apollo's per-request pipeline (its query hash,
 * document cache, plugin hooks and response head), which costs more CPU than executing them. An
 * operation is remembered once Apollo has parsed, validated (the operation limits included) and
 * resolved it: a document of one query or mutation selecting only `rootFields`. A POST of it is
 * then executed by graphql-js on the same schema with a context made as Apollo's is, counted as
 * Apollo counts it, and answered as Apollo answers it: `{"data":…}` and a newline, with the content
 * type Apollo's negotiation gives the Accept header; errors raised while executing go through
 * Apollo's steps (the unexpected logged, `code` defaulting to INTERNAL_SERVER_ERROR, `extensions.http`
 * taken for the status and headers, then `formatError`), errors first.
 *
 * This is Apollo as the app configures it: cache-control hints off (their header), no usage
 * reporting (a subgraph's is the router's), no stack traces in answers. An Apollo plugin added
 * later with per-request work (a hook past `didResolveOperation`) does not run for a remembered
 * operation: do its work here too, or leave the operations it concerns out of `rootFields`.
 *
 * Left to Apollo: other operations and methods, `extensions` (persisted queries), an
 * `operationName` that is not the document's, `variables` that are not an object, an Accept header
 * Apollo would refuse, a traced request, a context that cannot be made (Apollo makes it again and
 * answers its error), errors graphql-js raises before executing anything (bad variables: nothing
 * ran, Apollo asks again and words them), and every request once `close` is called.
 */
export class RememberedOperations {
  private readonly remembered = new Map<string, Remembered>();
  private readonly contentTypes = new Map<string, string | null>();
  private readonly rootFields: ReadonlySet<string>;
  private readonly maxOperations: number;
  private readonly maxQueryLength: number;
  private open = true;

  constructor(private readonly options: RememberedOperationsOptions) {
    this.rootFields = new Set(options.rootFields);
    this.maxOperations = options.maxOperations ?? 64;
    this.maxQueryLength = options.maxQueryLength ?? 4096;
  }

  /** For Apollo's plugins: remembers each operation it resolved that may be served again. */
  readonly plugin: ApolloServerPlugin<Context> = {
    requestDidStart: async () =>
      this.remembered.size >= this.maxOperations
        ? undefined
        : {
            didResolveOperation: async ({ request, document, operation }) => this.remember(request.query, document, operation),
          },
  };

  /** How many operations are remembered. */
  get size(): number {
    return this.remembered.size;
  }

  /** From now on every request is Apollo's (the server is stopping: Apollo answers or refuses by its state). */
  close(): void {
    this.open = false;
  }

  /** The answer to a POST to /graphql with this parsed body, or undefined when Apollo is to answer it. */
  async answer(method: string | undefined, headers: IncomingHttpHeaders, body: unknown, context: () => Promise<Context>): Promise<RememberedAnswer | undefined> {
    if (!this.open || method !== "POST" || headers[TRACE_HEADER] !== undefined || !isRecord(body) || typeof body.query !== "string") return undefined;
    const operation = this.remembered.get(body.query);
    const { variables, operationName, extensions } = body;
    if (!operation || (extensions !== undefined && extensions !== null) || (variables !== undefined && variables !== null && !isRecord(variables))) return undefined;
    if (operationName !== undefined && operationName !== null && operationName !== operation.name) return undefined;
    const contentType = this.contentType(headers.accept);
    if (!contentType) return undefined;
    let contextValue: Context;
    try {
      contextValue = await context();
    } catch {
      return undefined;
    }
    const started = process.hrtime.bigint();
    const { data, errors } = await execute({ schema: this.options.schema, document: operation.document, contextValue, variableValues: variables ?? undefined });
    // Without a path, an error is graphql-js's refusal of the variables, before anything ran.
    if (errors?.some((error) => error.path === undefined)) return undefined;
    recordOperation(this.options.metrics, { name: operation.name, type: operation.type, failed: errors !== undefined, started });
    this.options.metrics.rememberedOperations.inc();
    if (!errors) return { status: 200, headers: NO_HEADERS, contentType, body: `${JSON.stringify({ data })}\n` };
    logUnexpectedErrors(errors, contextValue.logger);
    const { formatted, status, headers: fromErrors } = this.formatErrors(errors);
    return { status, headers: fromErrors, contentType, body: `${JSON.stringify({ errors: formatted, data })}\n` };
  }

  /** Apollo's `normalizeAndFormatErrors`, without stack traces. */
  private formatErrors(errors: readonly GraphQLError[]): { formatted: GraphQLFormattedError[]; status: number; headers: Map<string, string> } {
    let status = 200;
    const headers = new Map<string, string>();
    const formatted = errors.map((error) => {
      const extensions: Record<string, unknown> = { ...error.extensions, code: error.extensions.code ?? "INTERNAL_SERVER_ERROR" };
      const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
      if (typeof http === "object" && http !== null && (!("status" in http) || typeof http.status === "number") && (!("headers" in http) || http.headers instanceof Map)) {
        if (http.status) status = http.status as number;
        for (const [name, value] of (http.headers as Map<string, string> | undefined) ?? []) headers.set(name, value);
        delete extensions.http;
      }
      try {
        return this.options.formatError({ ...error.toJSON(), extensions }, error);
      } catch {
        return INTERNAL_ERROR;
      }
    });
    return { formatted, status, headers };
  }

  private remember(query: string | undefined, document: DocumentNode, operation: OperationDefinitionNode | undefined): void {
    if (query === undefined || query.length > this.maxQueryLength || this.remembered.size >= this.maxOperations || this.remembered.has(query)) return;
    if (document.definitions.length !== 1 || (operation?.operation !== OperationTypeNode.QUERY && operation?.operation !== OperationTypeNode.MUTATION)) return;
    const hot = operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && this.rootFields.has(selection.name.value));
    if (hot) this.remembered.set(query, { document, type: operation.operation, name: operation.name?.value });
  }

  /** Apollo's choice for this Accept header; null when it would refuse it with 406 (then it is Apollo's to answer). */
  private contentType(accept: string | undefined): string | null {
    if (!accept) return SINGLE_RESULT_TYPES[0] as string;
    let type = this.contentTypes.get(accept);
    if (type === undefined) {
      type = new Negotiator({ headers: { accept } }).mediaType(SINGLE_RESULT_TYPES) ?? null;
      if (this.contentTypes.size < MAX_ACCEPT_HEADERS) this.contentTypes.set(accept, type);
    }
    return type;
  }
}
