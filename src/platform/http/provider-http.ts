/**
 * The HTTP plumbing every provider adapter shares (the KYC providers, the Kite broker): one mapping
 * of failures, one refusal, one Retry-After parser, one HMAC, one constant-time compare, one
 * multipart body, one webhook reader.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/**
 * A provider's failure worth retrying or falling back from (timeouts, 408, 429, 5xx, a refused
 * connection); any other error is the provider refusing the request and is not retried.
 */
export class ProviderUnavailableError extends Error {
  /** The provider's HTTP status; null when no answer came (no connection, a reset, a timeout). */
  readonly status: number | null;

  constructor(
    message: string,
    /** Seconds the provider asked to wait (Retry-After), when it said. */
    readonly retryAfterSeconds: number | null = null,
    options: { status?: number | null; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? null;
  }
}

/** Socket errors that mean no connection was made: the request never left, so it cannot have been acted on. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * Whether an unavailability certainly left the provider untouched: no connection was made, or the
 * provider said 429 (it refused the request before acting on it). Anything else (a timeout, a reset,
 * a 5xx) may come after the provider acted: repeating a request that is not idempotent is then a
 * guess.
 */
export function neverActedOn(error: ProviderUnavailableError): boolean {
  if (error.status !== null) return error.status === 429;
  const code = ((error.cause as { cause?: { code?: unknown } } | undefined)?.cause)?.code;
  return typeof code === "string" && NOT_CONNECTED.has(code);
}

/** What a call sends: the provider adapters build it, `ProviderHttp` sends it. */
export interface ProviderRequest {
  method: "GET" | "POST" | "DELETE";
  url: string;
  headers: Record<string, string>;
  /**
   * JSON or form text; bytes, for a body signed over exactly what is sent (`multipartBody`); or
   * FormData (fetch writes its boundary into the content type).
   */
  body?: string | Buffer | FormData;
  signal: AbortSignal;
  /** What this request sends that the provider may echo in a refusal (an email, ...): blanked out of the error. */
  redact?: string[];
}

/**
 * A provider refusing a request (a 4xx it does not mean as "not now"): the same request again
 * would be refused again, so it is not retried. `status` lets an adapter tell a refusal that
 * means "done already" (a 409 for a retried create) from the others.
 */
export class ProviderRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Reads the provider's reason out of an error body, or undefined when it gives none. */
export type ErrorDescriber = (body: unknown) => string | undefined;

/** A refusal, for an adapter that makes its own errors of them (`ProviderHttpOptions.refusal`). */
export interface Refusal {
  /** "<provider> <call>", as errors name it. */
  what: string;
  status: number;
  /** The error body as JSON; undefined when it is not JSON. Never to be quoted: it may echo what was sent. */
  body: unknown;
  /** The provider's reason as `describeError` read it, every secret and echoed value blanked; undefined when it gives none. */
  reason: string | undefined;
}

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

export interface ProviderHttpOptions {
  /** Reads the provider's reason out of its error body; `describeErrorObject` unless told. */
  describeError?: ErrorDescriber;
  /** 4xx statuses that mean "try again" for this provider (Stripe's 409: the same idempotency key is in flight). */
  alsoTransient?: number[];
  /** Values never to repeat in an error, whatever the provider echoes: the adapter's credentials. */
  redact?: string[];
  /**
   * The error for a refusal: ProviderRefusedError unless told. For an adapter whose callers tell
   * refusals apart by the provider's own error codes; it may answer ProviderUnavailableError for a
   * refusal that, in the provider's words, means "not now".
   */
  refusal?: (refusal: Refusal) => Error;
  /** A stand-in for the global fetch (tests that change a request on its way). */
  fetch?: typeof fetch;
}

/** A provider's reason is its own words: enough to act on, not a page of them. */
const MAX_REASON_LENGTH = 500;

/**
 * Sends provider calls. One rule for what is worth retrying: no answer (a refused or reset
 * connection, the signal firing, even midway through the body), 408, 429 and 5xx (and the
 * provider's `alsoTransient`) become ProviderUnavailableError, with the Retry-After seconds when
 * given; any other non-2xx is ProviderRefusedError, naming the provider, the call and the
 * provider's reason with every secret and echoed value blanked out. Timeouts are the caller's:
 * the resilience policy's AbortSignal.
 */
export class ProviderHttp {
  private readonly describeError: ErrorDescriber;
  private readonly transient: ReadonlySet<number>;
  private readonly redact: readonly string[];
  private readonly fetchImpl: typeof fetch;
  private readonly refusal: (refusal: Refusal) => Error;

  constructor(
    private readonly provider: string,
    options: ProviderHttpOptions = {},
  ) {
    this.describeError = options.describeError ?? describeErrorObject;
    this.transient = new Set([408, 429, ...(options.alsoTransient ?? [])]);
    this.redact = options.redact ?? [];
    this.fetchImpl = options.fetch ?? fetch;
    this.refusal = options.refusal ?? (({ what, status, reason }) => new ProviderRefusedError(`${what} refused: HTTP ${status}${reason === undefined ? "" : ` ${reason}`}`, status));
  }

  /** Sends `request` and answers its JSON body; `call` names the adapter method in errors. */
  async json<T>(call: string, request: ProviderRequest): Promise<T> {
    const what = `${this.provider} ${call}`;
    const response = await this.answer(what, request);
    // Read under the same signal: a provider that sends headers and then stalls times out too.
    const text = await response.text().catch((error: unknown) => {
      throw noAnswer(what, error, request.signal);
    });
    const body = parseJson(text);
    if (!response.ok) throw this.refusal({ what, status: response.status, body, reason: this.reason(body, request.redact ?? []) });
    if (body === undefined) throw new Error(`${what} answered HTTP ${response.status} without a JSON body`);
    return body as T;
  }

  /** The answer, its body unread; no answer, or one that says "not now", is ProviderUnavailableError. */
  private async answer(what: string, request: ProviderRequest): Promise<Response> {
    const send = this.fetchImpl;
    let response: Response;
    try {
      response = await send(request.url, { method: request.method, headers: request.headers, body: request.body, signal: request.signal });
    } catch (error) {
      throw noAnswer(what, error, request.signal);
    }
    if (!this.transient.has(response.status) && response.status < 500) return response;
    // Nobody reads the body: release the connection.
    await response.body?.cancel().catch(() => undefined);
    const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
    throw new ProviderUnavailableError(`${what} unavailable: HTTP ${response.status}${retryAfter === null ? "" : ` (retry after ${retryAfter} s)`}`, retryAfter, { status: response.status });
  }

  /** The provider's reason, blanked where it repeats a secret or what was sent; undefined when it gives none. */
  private reason(body: unknown, redact: string[]): string | undefined {
    const described = this.describeError(body);
    if (described === undefined) return undefined;
    const blanked = [...this.redact, ...redact].filter(Boolean).reduce((said, secret) => said.split(secret).join("[redacted]"), described);
    return blanked.slice(0, MAX_REASON_LENGTH);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const noAnswer = (what: string, error: unknown, signal: AbortSignal) =>
  new ProviderUnavailableError(`${what} got no answer: ${signal.aborted ? `aborted (${reasonOf(signal.reason)})` : reasonOf(error)}`, null, { cause: error });

/** The most telling words of a fetch failure: undici hides the socket error (ECONNREFUSED, ...) in `cause`. */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Retry-After as seconds: a delay or an HTTP date (RFC 9110 §10.2.3), never negative; null when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The hex HMAC of `parts` as one message (a prefix and the raw bytes, without copying them together). */
export function hmacHex(algorithm: string, key: string, ...parts: (Buffer | string)[]): string {
  const hmac = createHmac(algorithm, key);
  for (const part of parts) hmac.update(part);
  return hmac.digest("hex");
}

/**
 * Compares two hex strings in constant time (for their length), in any case: false for anything
 * that is not even-length hex, so a truncated or junk signature never matches.
 */
export function timingSafeEqualHex(given: string, expected: string): boolean {
  const hex = /^(?:[0-9a-f]{2})+$/i;
  if (!hex.test(given) || !hex.test(expected) || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given, "hex"), Buffer.from(expected, "hex"));
}

/** One header's value; a repeated header (an array: a proxy or an attacker added one) is no single value and counts as absent. */
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

export interface MultipartPart {
  name: string;
  content: string | Buffer;
  /** Makes the part a file (`filename=` and its own content type). */
  fileName?: string;
  contentType?: string;
}

/** A header parameter quoted as browsers do for form data (HTML §4.10.21.8): no way out of the quotes. */
const quoted = (value: string) => `"${value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;

/**
 * A `multipart/form-data` body as bytes (RFC 7578), so a request can be signed over exactly what
 * is sent. The boundary is random: no document can contain it by chance or by design.
 */
export function multipartBody(parts: MultipartPart[]): { body: Buffer; contentType: string } {
  const boundary = `----identity-${randomBytes(16).toString("hex")}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if (/[\r\n]/.test(part.contentType ?? "")) throw new Error(`multipart part ${part.name}: a content type cannot hold a line break`);
    const disposition = `form-data; name=${quoted(part.name)}${part.fileName === undefined ? "" : `; filename=${quoted(part.fileName)}`}`;
    const type = part.contentType === undefined ? "" : `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), Buffer.from(part.content), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
