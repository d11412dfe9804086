import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ProviderUnavailableError } from "./provider";

/** What a call sends: the provider adapters build it, `ProviderHttp` sends it. */
export interface ProviderRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  /** JSON or form text, or multipart FormData (fetch writes its boundary into the content type). */
  body?: string | FormData;
  signal: AbortSignal;
}

/** Reads the provider's reason out of an error body, or undefined when it gives none. */
export type ErrorDescriber = (body: unknown) => string | undefined;

/**
 * `{ error: { type, message } }`, the error body of Onfido and Stripe alike, with the names (not
 * the values) of the fields at fault: Onfido's `fields`, Stripe's `param`.
 */
export const describeErrorObject: ErrorDescriber = (body) => {
  const error = (body as { error?: { type?: unknown; message?: unknown; fields?: unknown; param?: unknown } } | null)?.error;
  if (!error) return undefined;
  const text = [error.type, error.message].filter((part): part is string => typeof part === "string" && part !== "").join(": ");
  const fields = typeof error.param === "string" ? [error.param] : typeof error.fields === "object" && error.fields !== null ? Object.keys(error.fields) : [];
  const described = `${text}${fields.length > 0 ? ` (${fields.join(", ")})` : ""}`.trim();
  return described === "" ? undefined : described;
};

/**
 * The HTTP plumbing shared by the provider adapters. One rule for what is worth retrying: no
 * answer (refused connection, reset, the signal's timeout), 429 and 5xx become
 * ProviderUnavailableError (with the Retry-After seconds when given); any other non-2xx is the
 * provider refusing the request: an Error naming the provider, the call and the provider's reason.
 * Timeouts are the caller's: the resilience policy's AbortSignal.
 */
export class ProviderHttp {
  private readonly describeError: ErrorDescriber;
  private readonly transient: ReadonlySet<number>;

  constructor(
    private readonly provider: string,
    options: {
      describeError?: ErrorDescriber;
      /** 4xx statuses that mean "try again" for this provider (Stripe's 409: the same idempotency key is in flight). */
      alsoTransient?: number[];
    } = {},
  ) {
    this.describeError = options.describeError ?? describeErrorObject;
    this.transient = new Set([429, ...(options.alsoTransient ?? [])]);
  }

  /** Sends `request` and answers its JSON body; `call` names the adapter method in errors. */
  async json<T>(call: string, request: ProviderRequest): Promise<T> {
    const what = `${this.provider} ${call}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, signal: request.signal });
      // The body is read under the same signal: a provider that sends headers and then stalls times out too.
      text = await response.text();
    } catch (error) {
      throw new ProviderUnavailableError(`${what} got no answer: ${request.signal.aborted ? `aborted (${reasonOf(request.signal.reason)})` : reasonOf(error)}`);
    }
    if (this.transient.has(response.status) || response.status >= 500) {
      const retryAfter = retryAfterSeconds(response.headers.get("retry-after"), Date.now());
      throw new ProviderUnavailableError(`${what} unavailable: HTTP ${response.status}${retryAfter === null ? "" : ` (retry after ${retryAfter} s)`}`, retryAfter);
    }
    const body = parseJson(text);
    if (!response.ok) throw new Error(`${what} refused: HTTP ${response.status}${suffix(this.describeError(body))}`);
    if (body === undefined) throw new Error(`${what} answered HTTP ${response.status} without a JSON body`);
    return body as T;
  }
}

const suffix = (reason: string | undefined) => (reason === undefined ? "" : ` ${reason}`);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The most telling words of a fetch failure: undici hides the socket error (ECONNREFUSED, ...) in `cause`. */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Retry-After as seconds: a delay or an HTTP date (RFC 9110 10.2.3); null when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now: number): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

export const hmacSha256Hex = (key: string, data: Buffer | string): string => createHmac("sha256", key).update(data).digest("hex");

/**
 * Compares two hex strings in constant time (for their length): false for anything that is not
 * even-length hex, so a truncated or junk signature never matches.
 */
export function timingSafeEqualHex(given: string, expected: string): boolean {
  const hex = /^(?:[0-9a-f]{2})+$/i;
  if (!hex.test(given) || !hex.test(expected) || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given, "hex"), Buffer.from(expected, "hex"));
}

/** One header's value; a repeated header (an array) is no single value and counts as absent. */
export function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === "string" ? value : undefined;
}

/**
 * A webhook body whose signature checked out, as JSON (an object; anything else reads as `{}`,
 * which names nothing). A signed body that is not JSON is the provider's fault, not a forgery: an
 * Error, not a WebhookSignatureError.
 */
export function parseWebhookBody<T extends object>(provider: string, rawBody: Buffer): Partial<T> {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString("utf8"));
  } catch {
    throw new Error(`${provider} webhook body is not JSON`);
  }
  return typeof body === "object" && body !== null ? (body as Partial<T>) : {};
}
