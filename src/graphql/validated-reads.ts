import type { IncomingHttpHeaders } from "node:http";
import type { ApolloServerPlugin } from "@apollo/server";
import Negotiator from "negotiator";
import { execute, Kind, OperationTypeNode, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { Metrics } from "../platform/metrics/metrics";
import type { Context } from "./context";
import { recordOperation } from "./plugins";

export interface ValidatedReadsOptions {
  schema: GraphQLSchema;
  metrics: Metrics;
  /**
   * The root fields a remembered query may select: reads without side effects only, because an
   * answer with errors is thrown away and the request asked again of Apollo.
   */
  rootFields: readonly string[];
  /** Most queries remembered; past it, new ones are Apollo's every time. */
  maxQueries?: number;
  /** Longest query text remembered (the router's are a few hundred characters). */
  maxQueryLength?: number;
}

interface Remembered {
  document: DocumentNode;
  /** The operation's name, for `operationName` and the metrics. */
  name: string | undefined;
}

/** The answer of a remembered query: written with status 200 and this content type. */
export interface ReadAnswer {
  contentType: string;
  body: string;
}

/** Apollo's media types for a single result, in its order (`chooseContentTypeForSingleResultResponse`). */
const SINGLE_RESULT_TYPES = ["application/json; charset=utf-8", "application/graphql-response+json; charset=utf-8", "application/json; callbackSpec=1.0; charset=utf-8"];
/** The header with which the router asks for a federated trace (Apollo's inline-trace plugin answers it). */
const TRACE_HEADER = "apollo-federation-include-trace";
const MAX_ACCEPT_HEADERS = 64;

/** Apollo's test of a body's `variables` (`isStringRecord`). */
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Buffer.isBuffer(value) && !Array.isArray(value);

/**
 * The router's hot reads served again without Apollo's per-request pipeline (its query hash,
 * document cache, plugin hooks and response head), which costs more CPU than executing such a
 * query. A query is remembered once Apollo has parsed, validated (the operation limits included)
 * and resolved it: a single query operation selecting only `rootFields`. A POST of a remembered
 * query is then executed by graphql-js on the same schema with a context made as Apollo's is, and
 * answered as Apollo answers it (`{"data":…}` and a newline, the content type Apollo would choose
 * for its Accept header) when it has no errors. Everything else is left to Apollo: other queries
 * and methods, `extensions` (persisted queries), an `operationName` that is not the query's,
 * `variables` that are not an object, an Accept header Apollo would refuse, a traced request, a
 * context that cannot be made (Apollo makes it again, and answers its error), an answer with
 * errors (Apollo executes it again and formats them), and every request once `close` is called.
 */
export class ValidatedReads {
  private readonly remembered = new Map<string, Remembered>();
  private readonly contentTypes = new Map<string, string | null>();
  private readonly rootFields: ReadonlySet<string>;
  private readonly maxQueries: number;
  private readonly maxQueryLength: number;
  private open = true;

  constructor(private readonly options: ValidatedReadsOptions) {
    this.rootFields = new Set(options.rootFields);
    this.maxQueries = options.maxQueries ?? 64;
    this.maxQueryLength = options.maxQueryLength ?? 4096;
  }

  /** For Apollo's plugins: remembers each query it resolved that may be served again. */
  readonly plugin: ApolloServerPlugin<Context> = {
    requestDidStart: async () =>
      this.remembered.size >= this.maxQueries
        ? undefined
        : {
            didResolveOperation: async ({ request, document, operation }) => this.remember(request.query, document, operation),
          },
  };

  /** How many queries are remembered. */
  get size(): number {
    return this.remembered.size;
  }

  /** From now on every request is Apollo's (the server is stopping: Apollo answers or refuses by its state). */
  close(): void {
    this.open = false;
  }

  /** The answer to a POST to /graphql with this parsed body, or undefined when Apollo is to answer it. */
  async answer(method: string | undefined, headers: IncomingHttpHeaders, body: unknown, context: () => Promise<Context>): Promise<ReadAnswer | undefined> {
    if (!this.open || method !== "POST" || headers[TRACE_HEADER] !== undefined || !isRecord(body) || typeof body.query !== "string") return undefined;
    const query = this.remembered.get(body.query);
    const { variables, operationName, extensions } = body;
    if (!query || (extensions !== undefined && extensions !== null) || (variables !== undefined && variables !== null && !isRecord(variables))) return undefined;
    if (operationName !== undefined && operationName !== null && operationName !== query.name) return undefined;
    const contentType = this.contentType(headers.accept);
    if (!contentType) return undefined;
    let contextValue: Context;
    try {
      contextValue = await context();
    } catch {
      return undefined;
    }
    const started = process.hrtime.bigint();
    const result = await execute({ schema: this.options.schema, document: query.document, contextValue, variableValues: variables ?? undefined });
    if (result.errors) return undefined;
    recordOperation(this.options.metrics, { name: query.name, type: OperationTypeNode.QUERY, failed: false, started });
    this.options.metrics.rememberedReads.inc();
    return { contentType, body: `${JSON.stringify({ data: result.data })}\n` };
  }

  private remember(query: string | undefined, document: DocumentNode, operation: OperationDefinitionNode | undefined): void {
    if (query === undefined || query.length > this.maxQueryLength || this.remembered.size >= this.maxQueries || this.remembered.has(query)) return;
    if (document.definitions.length !== 1 || operation?.operation !== OperationTypeNode.QUERY) return;
    const readsOnly = operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && this.rootFields.has(selection.name.value));
    if (readsOnly) this.remembered.set(query, { document, name: operation.name?.value });
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
