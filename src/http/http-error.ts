import { currentRequestId } from "../platform/logging/request-context";

/** The body of an error answered outside GraphQL execution, in GraphQL's error shape. */
export function httpError(code: string, message: string) {
  return { errors: [{ message, extensions: { code, requestId: currentRequestId() } }] };
}
