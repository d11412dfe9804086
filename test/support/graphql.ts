import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type DocumentNode } from "graphql";
import { sampleSum } from "./metrics";

export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

/** POSTs an operation to `${baseUrl}/graphql` as a BFF would, typed by the codegen document. */
export async function graphql<TResult, TVariables>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables> | DocumentNode | string,
  variables?: TVariables,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<GraphQLResponse<TResult>> {
  const query = typeof document === "string" ? document : print(document);
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const body = (await response.json()) as Omit<GraphQLResponse<TResult>, "status" | "headers">;
  return { status: response.status, headers: response.headers, ...body };
}

/** The value of a Prometheus counter/gauge line at the app's /metrics (sum over label sets matching `labels`). */
export async function metricValue(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sampleSum(await (await fetch(`${baseUrl}/metrics`)).text(), name, labels);
}
