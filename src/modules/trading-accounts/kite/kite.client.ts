import { createHash } from "node:crypto";
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleWhen, isBrokenCircuitError, retry, timeout, wrap, type IPolicy } from "cockatiel";
import { retryAfterOrJitter } from "../../../platform/http/backoff";
import { neverActedOn, ProviderHttp, ProviderUnavailableError, type ErrorDescriber, type ProviderRequest, type Refusal } from "../../../platform/http/provider-http";
import { KiteError, KiteInputError, KiteRefusedError, KiteSessionExpiredError, KiteUnavailableError, type KiteInputField } from "./kite.errors";
import { readData, readMargins, readProfile, readSession, type KiteCall, type KiteMargins, type KiteProfile, type KiteSession } from "./kite.model";

export interface KiteClientOptions {
  /** KITE_API_BASE_URL (`https://api.kite.trade`). */
  apiBaseUrl: string;
  /** One attempt's limit (KITE_API_TIMEOUT_SECONDS × 1000): its request is aborted then. */
  timeoutMs: number;
  /** Retries after the first attempt, where a retry is safe (KITE_API_MAX_RETRIES). */
  maxRetries: number;
  /** The scale of the decorrelated jitter between retries of a 5xx or a timeout; 250 ms. */
  retryDelayMs?: number;
  /** The longest wait between attempts, a Retry-After included; 5 s. */
  maxRetryDelayMs?: number;
  /** Consecutive attempts Kite fails (5xx, timeouts, no connection; not 429) that open the circuit; 5. */
  breakerThreshold?: number;
  /** How long an open circuit refuses calls before it lets one trial call through; 30 s. */
  halfOpenAfterMs?: number;
  fetch?: typeof fetch;
}

/** Kite's rate windows are one second long (10 requests a second per API key): a 429 that names no Retry-After waits that. */
const RATE_WINDOW_MS = 1_000;

interface KiteRequest {
  method: ProviderRequest["method"];
  /** Path and query under the base URL. */
  path: string;
  /** Form-encoded: Kite refuses JSON bodies. */
  form?: URLSearchParams;
  /** `Authorization: token <api_key>:<access_token>`. */
  auth?: { apiKey: string; accessToken: string };
  /** Every credential the request carries: blanked from anything Kite says back. */
  secrets: string[];
}

/** Kite's error body, `{ status: "error", message, error_type, data: null }`; an `error_type` that is not a plain name is none. */
function kiteError(body: unknown): { type: string | null; message: string | null } {
  const { error_type: type, message } = (body ?? {}) as { error_type?: unknown; message?: unknown };
  return { type: typeof type === "string" && /^[A-Za-z]{1,40}$/.test(type) ? type : null, message: typeof message === "string" ? message : null };
}

const describeKiteError: ErrorDescriber = (body) => {
  const { type, message } = kiteError(body);
  const described = [type, message].filter((part): part is string => part !== null && part !== "").join(": ");
  return described === "" ? undefined : described;
};

/** The names Kite writes in backticks (``Invalid `checksum`.``), as the inputs name the values they come from. */
const FIELDS = new Map<string, KiteInputField>([
  ["api_key", "apiKey"],
  ["request_token", "requestToken"],
  ["checksum", "apiSecret"],
  ["api_secret", "apiSecret"],
]);

function namedField(message: string | null): KiteInputField | null {
  for (const [, name] of (message ?? "").matchAll(/`([a-z_]+)`/g)) {
    const field = FIELDS.get(name as string);
    if (field) return field;
  }
  return null;
}

/** Kite's NetworkException is its OMS out of reach, whatever the status: unavailable, like a 5xx. */
const networkException = ({ what, status, reason }: Refusal) => new ProviderUnavailableError(`${what} unavailable: HTTP ${status} ${reason ?? ""}`.trimEnd(), null, { status });

const refused = ({ what, status, reason }: Refusal, type: string | null) => new KiteRefusedError(`${what} refused: HTTP ${status}${reason === undefined ? "" : ` ${reason}`}`, status, type);

/**
 * A refused session exchange. Kite answers a bad checksum with a TokenException (``Invalid
 * `checksum`.``, as it does a used or expired request token: "Token is invalid or has expired."),
 * so here a TokenException is the user's input, not an ended session.
 */
function exchangeRefusal(refusal: Refusal): Error {
  const { type, message } = kiteError(refusal.body);
  if (type === "NetworkException") return networkException(refusal);
  if (type === "TokenException" || type === "InputException") {
    const field = namedField(message) ?? (type === "TokenException" ? "requestToken" : null);
    if (field) return new KiteInputError(field, refusal.reason ?? type);
  }
  return refused(refusal, type);
}

/** A refused call made with an access token: a TokenException means the session is over. */
function sessionRefusal(refusal: Refusal): Error {
  const { type } = kiteError(refusal.body);
  if (type === "NetworkException") return networkException(refusal);
  if (type === "TokenException") return new KiteSessionExpiredError(`${refusal.what}: Kite says the session is over (HTTP ${refusal.status} ${refusal.reason ?? type}): log in to Kite again`);
  return refused(refusal, type);
}

const isUnavailable = (error: Error) => error instanceof ProviderUnavailableError;
/** A 429 is one API key over its rate, not Kite failing: it is retried, and not held against the circuit every user shares. */
const kiteFailed = (error: Error) => error instanceof ProviderUnavailableError && error.status !== 429;

/**
 * Kite Connect v3 over `fetch`: the session exchange, the profile, the margins and the logout, for
 * many users' own Kite apps (every call takes that user's API key). Every request sends
 * `X-Kite-Version: 3`; every failure is one of kite.errors.ts, and no error message holds a
 * credential (the API key and secret, request and access tokens, the checksum): the client builds
 * its messages without them, and blanks them from anything Kite says back. It logs nothing.
 *
 * Each attempt has its own timeout (cooperative: the request is aborted). Unavailability (5xx,
 * Kite's NetworkException, timeouts, no connection) is retried with decorrelated jitter, and 429
 * after Kite's window (its Retry-After when given, else a second), up to `maxRetries` times, then
 * KiteUnavailableError. Profile, margins and logout are idempotent, so any unavailability is
 * retried. The session exchange is not: a request token works once, so once the request may have
 * reached Kite (a timeout, a reset, a 5xx) a retry can only fail, with a TokenException that would
 * read as "your request token is invalid" when the truth is "we do not know". It is retried only
 * when Kite certainly did not act (429, or no connection made); otherwise it fails at once with
 * KiteUnavailableError `requestTokenMayBeUsed`, and the user logs in again (a few seconds) for a
 * fresh token. A session that Kite did create then stays unknown to us and ends at 06:00 IST.
 *
 * A circuit breaker (consecutive failures) sits inside the retries: Kite is one service for every
 * user, so when it is down each call would otherwise spend (1 + maxRetries) timeouts before
 * failing, holding a GraphQL request for most of a minute and adding load to a recovering Kite;
 * with the circuit open, calls fail at once until a trial call gets through. 429s do not count
 * (they are one API key's rate, not Kite's health), nor do refusals. The circuit is per client:
 * share one client in the process.
 */
export class KiteClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly breakerThreshold: number;
  private readonly halfOpenAfterMs: number;
  private readonly exchangeHttp: ProviderHttp;
  private readonly sessionHttp: ProviderHttp;
  private readonly exchangePolicy: IPolicy;
  private readonly idempotentPolicy: IPolicy;

  constructor(options: KiteClientOptions) {
    this.baseUrl = options.apiBaseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs;
    this.breakerThreshold = options.breakerThreshold ?? 5;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 30_000;
    this.exchangeHttp = new ProviderHttp("Kite", { describeError: describeKiteError, refusal: exchangeRefusal, fetch: options.fetch });
    this.sessionHttp = new ProviderHttp("Kite", { describeError: describeKiteError, refusal: sessionRefusal, fetch: options.fetch });
    const breaker = circuitBreaker(handleWhen(kiteFailed), { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(this.breakerThreshold) });
    const attempt = timeout(options.timeoutMs, TimeoutStrategy.Cooperative);
    const backoff = retryAfterOrJitter(options.retryDelayMs ?? 250, options.maxRetryDelayMs ?? 5_000, RATE_WINDOW_MS);
    const retries = (when: (error: Error) => boolean) => retry(handleWhen(when), { maxAttempts: options.maxRetries, backoff });
    this.idempotentPolicy = wrap(retries(isUnavailable), breaker, attempt);
    this.exchangePolicy = wrap(retries((error) => error instanceof ProviderUnavailableError && neverActedOn(error)), breaker, attempt);
  }

  /**
   * Exchanges the request token of Kite's login redirect for a session (`POST /session/token`,
   * form-encoded, `checksum` = hex SHA-256 of api_key + request_token + api_secret). A bad key,
   * secret or token is KiteInputError naming it.
   */
  async createSession(apiKey: string, apiSecret: string, requestToken: string, signal?: AbortSignal): Promise<KiteSession> {
    const checksum = createHash("sha256").update(apiKey + requestToken + apiSecret).digest("hex");
    const form = new URLSearchParams({ api_key: apiKey, request_token: requestToken, checksum });
    return readSession(await this.call("createSession", { method: "POST", path: "/session/token", form, secrets: [apiKey, apiSecret, requestToken, checksum] }, signal));
  }

  /** `GET /user/profile`; an ended session is KiteSessionExpiredError. */
  async profile(apiKey: string, accessToken: string, signal?: AbortSignal): Promise<KiteProfile> {
    return readProfile(await this.call("profile", { method: "GET", path: "/user/profile", auth: { apiKey, accessToken }, secrets: [apiKey, accessToken] }, signal));
  }

  /** `GET /user/margins`, both segments; an ended session is KiteSessionExpiredError. */
  async margins(apiKey: string, accessToken: string, signal?: AbortSignal): Promise<KiteMargins> {
    return readMargins(await this.call("margins", { method: "GET", path: "/user/margins", auth: { apiKey, accessToken }, secrets: [apiKey, accessToken] }, signal));
  }

  /**
   * Ends the session at Kite (`DELETE /session/token?api_key=&access_token=`). Resolves once the
   * session is over, whether this call ended it or it had ended already (expired, or a retry
   * after a lost answer): Kite's TokenException is then the outcome asked for, not a failure.
   */
  async invalidateSession(apiKey: string, accessToken: string, signal?: AbortSignal): Promise<void> {
    const query = new URLSearchParams({ api_key: apiKey, access_token: accessToken });
    try {
      await this.call("invalidateSession", { method: "DELETE", path: `/session/token?${query}`, secrets: [apiKey, accessToken] }, signal);
    } catch (error) {
      if (!(error instanceof KiteSessionExpiredError)) throw error;
    }
  }

  /** One call under its policy: Kite's `data`, or one of kite.errors.ts (the caller's own abort is thrown as its reason). */
  private async call(call: KiteCall, request: KiteRequest, signal?: AbortSignal): Promise<unknown> {
    const http = call === "createSession" ? this.exchangeHttp : this.sessionHttp;
    const policy = call === "createSession" ? this.exchangePolicy : this.idempotentPolicy;
    const headers: Record<string, string> = { "x-kite-version": "3", accept: "application/json" };
    if (request.auth) headers.authorization = `token ${request.auth.apiKey}:${request.auth.accessToken}`;
    if (request.form) headers["content-type"] = "application/x-www-form-urlencoded";
    const sent: Omit<ProviderRequest, "signal"> = { method: request.method, url: `${this.baseUrl}${request.path}`, headers, body: request.form?.toString(), redact: request.secrets };
    // cockatiel listens to the caller's signal for each call in flight; its own stand-in for "none"
    // is one signal shared by every call, which Node warns about past 10 listeners.
    const callSignal = signal ?? new AbortController().signal;
    let attempts = 0;
    try {
      const body = await policy.execute(async ({ signal: attempt }) => {
        attempts++;
        try {
          return await http.json<unknown>(call, { ...sent, signal: attempt });
        } catch (error) {
          // The caller giving up is neither Kite's failure nor worth a retry.
          if (signal?.aborted) throw signal.reason;
          // Only the policy's timeout aborts the attempt's signal before the attempt ends.
          if (attempt.aborted) throw new ProviderUnavailableError(`Kite ${call} timed out after ${this.timeoutMs} ms`, null, { cause: error });
          throw error;
        }
      }, callSignal);
      return readData(call, body);
    } catch (error) {
      if ((signal?.aborted && error === signal.reason) || error instanceof KiteError || error instanceof KiteInputError) throw error;
      throw this.unavailable(call, error, attempts);
    }
  }

  /** Unavailability, an open circuit, or an answer that is no JSON, as KiteUnavailableError. */
  private unavailable(call: KiteCall, error: unknown, attempts: number): KiteUnavailableError {
    if (isBrokenCircuitError(error)) {
      return new KiteUnavailableError(`The broker is unavailable: Kite failed ${this.breakerThreshold} times in a row, so calls are refused for up to ${this.halfOpenAfterMs / 1000} s before one tries again`, false);
    }
    if (error instanceof ProviderUnavailableError) {
      const spent = call === "createSession" && !neverActedOn(error);
      const advice = spent ? "; the request token may have been used: log in to Kite again" : "";
      return new KiteUnavailableError(`The broker is unavailable: Kite ${call} failed after ${attempts} attempt(s): ${error.message}${advice}`, spent, error.retryAfterSeconds, { cause: error });
    }
    // A 2xx without a JSON body (a proxy's page): Kite's answer, if any, is unknown.
    return new KiteUnavailableError(`The broker is unavailable: ${(error as Error).message}`, call === "createSession", null, { cause: error });
  }
}
