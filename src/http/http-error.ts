import type { ServerResponse } from "node:http";

/** The body of an error answered outside GraphQL execution, in GraphQL's error shape. */
export function httpError(code: string, message: string, requestId: string) {
  return { errors: [{ message, extensions: { code, requestId } }] };
}

/** Answers `body` as JSON (beside the headers already set, such as the request id). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
}
