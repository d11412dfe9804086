import { randomUUID } from "node:crypto";

// A request's id travels explicitly (the context's `requestId`, its lazily made child logger, the
// error bodies the HTTP layer writes), not in an AsyncLocalStorage: on Node 20 an enabled one puts
// a hook on every promise, about a tenth of the CPU of the router's one-reference `_entities` (issue 16).

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when it is a sane token (it ends up in logs), else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && ACCEPTABLE_ID.test(value) ? value : randomUUID();
}
