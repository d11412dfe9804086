import type { ApolloServerPlugin } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError } from "graphql";
import type { Logger } from "../platform/logging/logger";
import type { Metrics } from "../platform/metrics/metrics";
import type { Context } from "./context";
import { isUnexpected } from "./errors";

/**
 * Per operation: Prometheus counter and latency histogram by operation name and outcome, and a log
 * line with the stack of every unexpected error (callers only see INTERNAL_SERVER_ERROR).
 */
export function observabilityPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, contextValue }) {
          logUnexpectedErrors(errors, contextValue.logger);
        },
        async willSendResponse({ response, operation, operationName, errors }) {
          const failed = (errors?.length ?? 0) > 0 || (response.body.kind === "single" && (response.body.singleResult.errors?.length ?? 0) > 0);
          recordOperation(metrics, { name: operation?.name?.value ?? operationName, type: operation?.operation ?? "unknown", failed, started });
        },
      };
    },
  };
}

/** Logs each error that hides an unexpected failure, with its stack (its caller sees INTERNAL_SERVER_ERROR). */
export function logUnexpectedErrors(errors: readonly GraphQLError[], logger: Logger): void {
  for (const error of errors) {
    if (isUnexpected(error)) logger.error({ err: unwrapResolverError(error), path: error.path }, "unexpected error");
  }
}

/** One operation answered: its count by outcome and its duration since `started` (process.hrtime.bigint()). */
export function recordOperation(metrics: Metrics, { name, type, failed, started }: { name: string | null | undefined; type: string; failed: boolean; started: bigint }): void {
  const label = metrics.operationLabel(name);
  metrics.graphqlOperations.inc({ operation: label, type, outcome: failed ? "error" : "success" });
  metrics.graphqlDuration.observe({ operation: label, type }, Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Subscriptions are served over WebSocket only: over HTTP graphql-js would run one as a query (or
 * fail without a Subscription root). Refused with 400 before execution, naming the transport.
 */
export const subscriptionsOverWebSocketOnly: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== "subscription") return;
        throw new GraphQLError("Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, not over HTTP", { extensions: { code: "BAD_REQUEST", http: { status: 400 } } });
      },
    };
  },
};
