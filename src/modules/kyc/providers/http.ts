/** HTTP plumbing shared by the provider adapters: one mapping of failures, one constant-time compare, one multipart body. */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { ProviderUnavailableError } from "./provider";

/** A provider refusing a request (a 4xx other than 408 and 429): the same request again would be refused again. */
export class ProviderRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Statuses that say "not now" rather than "no": retried, and counted by the breaker. */
const isTransientStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/** Why a request got no answer: the signal (the policy's timeout, or the caller giving up) or the network. */
function transportFailure(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return (signal.reason as { name?: string } | undefined)?.name === "TimeoutError" ? "timed out" : "aborted";
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return `unreachable (${typeof cause?.code === "string" ? cause.code : (error as Error).message})`;
}

/** `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * `fetch` for one provider call. No answer (a refused or reset connection, the signal firing) and
 * answers that mean "not now" (408, 429 with its Retry-After, 5xx) become ProviderUnavailableError;
 * any other answer is returned with its body unread. `provider` and `call` name the failure.
 */
export async function providerFetch(provider: string, call: string, url: URL | string, init: RequestInit, signal: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<Response> {
  let response: Response;
  try {
    response = await fetchImpl(url, { ...init, signal });
  } catch (error) {
    throw new ProviderUnavailableError(`${provider} ${call}: ${transportFailure(error, signal)}`);
  }
  if (!isTransientStatus(response.status)) return response;
  // Nobody reads the body: release the connection.
  await response.body?.cancel().catch(() => undefined);
  const wait = response.status === 429 ? retryAfterSeconds(response.headers.get("retry-after")) : null;
  const waitText = wait === null ? "" : `, retry after ${wait} s`;
  throw new ProviderUnavailableError(`${provider} ${call}: HTTP ${response.status}${response.status === 429 ? " (rate limited)" : ""}${waitText}`, wait);
}

/**
 * The JSON body of a provider's answer. A refusal becomes ProviderRefusedError, its message the
 * provider's own words as `describe` picks them from the error body (null when it is not JSON),
 * with every `redact` value blanked out (a provider may echo what it was sent). A body cut short
 * (the signal firing midway) is a ProviderUnavailableError, like no answer at all.
 */
export async function readProviderJson<T>(provider: string, call: string, response: Response, signal: AbortSignal, describe: (body: unknown) => string, redact: string[] = []): Promise<T> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new ProviderUnavailableError(`${provider} ${call}: ${transportFailure(error, signal)} while reading the answer`);
  }
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    if (response.ok) throw new Error(`${provider} ${call} answered HTTP ${response.status} with a body that is not JSON`);
  }
  if (response.ok) return body as T;
  const description = redact.filter(Boolean).reduce((said, secret) => said.split(secret).join("[redacted]"), describe(body));
  throw new ProviderRefusedError(`${provider} ${call} refused (HTTP ${response.status}): ${description.slice(0, 500)}`, response.status);
}

/** Whether two hex strings are the same bytes, in constant time for equal lengths; anything that is not hex matches nothing. */
export function timingSafeEqualHex(a: string, b: string): boolean {
  const hex = /^(?:[0-9a-f]{2})+$/i;
  if (!hex.test(a) || !hex.test(b) || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
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
