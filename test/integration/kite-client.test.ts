import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { KiteClient, type KiteClientOptions } from "../../src/modules/trading-accounts/kite/kite.client";
import { KiteInputError, KiteRefusedError, KiteSessionExpiredError, KiteUnavailableError } from "../../src/modules/trading-accounts/kite/kite.errors";
import type { KiteSession } from "../../src/modules/trading-accounts/kite/kite.model";
import { BadUserInputError } from "../../src/shared/errors";
import { startFakeKite, type FakeKite, type FakeKiteApp } from "../support/fakes/kite";
import { waitUntil } from "../support/wait";

const ASHA: FakeKiteApp = { apiKey: "kiteapikeyasha01", apiSecret: "kite-secret-asha-7f3a9c", userId: "AB1234", userName: "Asha Rao", email: "asha@example.com" };
const BINA: FakeKiteApp = { apiKey: "kiteapikeybina02", apiSecret: "kite-secret-bina-1d2e3f", userId: "CD5678" };
/** 09:30 IST. */
const MORNING = new Date("2026-12-01T04:00:00.000Z");

let fake: FakeKite;
let kite: KiteClient;

/**
 * A client of the fake; quick jitter, and a circuit that only the breaker tests let open (the
 * outage tests fail more attempts in a row than the default threshold).
 */
const client = (options: Partial<KiteClientOptions> = {}) => new KiteClient({ apiBaseUrl: fake.url, timeoutMs: 10_000, maxRetries: 3, retryDelayMs: 10, breakerThreshold: 100, ...options });

beforeEach(async () => {
  fake = await startFakeKite({ apps: [ASHA, BINA] });
  kite = client();
});
afterEach(() => fake.close());

const login = (app: FakeKiteApp = ASHA, via = kite) => via.createSession(app.apiKey, app.apiSecret, fake.issueRequestToken(app.apiKey));
const failure = (call: Promise<unknown>) => call.then(() => null, (error: unknown) => error as Error);
const form = (body: Buffer) => Object.fromEntries(new URLSearchParams(body.toString("utf8")));
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const requestsTo = (method: string, path: string) => fake.requests.filter((r) => r.method === method && r.path === path);

async function inputError(call: Promise<unknown>): Promise<KiteInputError> {
  const error = await failure(call);
  expect(error).toBeInstanceOf(KiteInputError);
  return error as KiteInputError;
}

async function unavailable(call: Promise<unknown>): Promise<KiteUnavailableError> {
  const error = await failure(call);
  expect(error).toBeInstanceOf(KiteUnavailableError);
  return error as KiteUnavailableError;
}

const PROFILE = {
  userId: "AB1234",
  userName: "Asha Rao",
  userShortname: "Asha",
  email: "asha@example.com",
  userType: "individual",
  broker: "ZERODHA",
  exchanges: ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"],
  products: ["CNC", "NRML", "MIS", "BO", "CO"],
  orderTypes: ["MARKET", "LIMIT", "SL", "SL-M"],
  avatarUrl: null,
};

describe("the session exchange", () => {
  it("exchanges a request token for a typed session: form-encoded, with the checksum Kite verifies and X-Kite-Version 3", async () => {
    fake.setNow(MORNING);
    const requestToken = fake.issueRequestToken(ASHA.apiKey);
    const session = await kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken);
    expect(session).toEqual({ ...PROFILE, accessToken: expect.stringMatching(/^[0-9a-f]{32}$/), publicToken: expect.stringMatching(/^[0-9a-f]{32}$/), loginTime: MORNING });

    const [sent] = requestsTo("POST", "/session/token");
    expect(sent?.headers["x-kite-version"]).toBe("3");
    expect(sent?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(form(sent?.body ?? Buffer.alloc(0))).toEqual({ api_key: ASHA.apiKey, request_token: requestToken, checksum: sha256(ASHA.apiKey + requestToken + ASHA.apiSecret) });
    // The session lasts until the next 06:00 IST (00:30 UTC).
    expect(fake.sessions.get(session.accessToken)).toMatchObject({ apiKey: ASHA.apiKey, userId: "AB1234", expiresAt: new Date("2026-12-02T00:30:00.000Z"), ended: null });
  });

  it("a wrong secret is KiteInputError naming apiSecret (BAD_USER_INPUT), not retried; the token still works with the right one", async () => {
    const requestToken = fake.issueRequestToken(ASHA.apiKey);
    const error = await inputError(kite.createSession(ASHA.apiKey, "not-the-secret", requestToken));
    expect(error).toBeInstanceOf(BadUserInputError);
    expect(error.field).toBe("apiSecret");
    expect(error.extensions()).toEqual({ fields: [{ field: "apiSecret", message: "does not belong to the API key (Kite: TokenException: Invalid `checksum`.)" }] });
    expect(requestsTo("POST", "/session/token")).toHaveLength(1);
    await expect(kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken)).resolves.toMatchObject({ userId: "AB1234" });
  });

  it("an API key Kite does not know is KiteInputError naming apiKey", async () => {
    const error = await inputError(kite.createSession("kiteapikeynobody", ASHA.apiSecret, fake.issueRequestToken(ASHA.apiKey)));
    expect(error.field).toBe("apiKey");
  });

  it("a request token used once, expired, or issued to another app is KiteInputError naming requestToken", async () => {
    fake.setNow(MORNING);
    const used = fake.issueRequestToken(ASHA.apiKey);
    await kite.createSession(ASHA.apiKey, ASHA.apiSecret, used);
    expect((await inputError(kite.createSession(ASHA.apiKey, ASHA.apiSecret, used))).field).toBe("requestToken");

    const stale = fake.issueRequestToken(ASHA.apiKey);
    fake.setNow(new Date(MORNING.getTime() + 5 * 60_000 + 1_000));
    const expired = await inputError(kite.createSession(ASHA.apiKey, ASHA.apiSecret, stale));
    expect(expired.field).toBe("requestToken");
    expect(expired.message).toBe("Invalid input: requestToken is invalid, already used or expired: log in to Kite again (Kite: TokenException: Token is invalid or has expired.)");

    const binas = fake.issueRequestToken(BINA.apiKey);
    expect((await inputError(kite.createSession(ASHA.apiKey, ASHA.apiSecret, binas))).field).toBe("requestToken");
    // A refusal is not retried.
    expect(requestsTo("POST", "/session/token")).toHaveLength(4);
  });
});

describe("profile and margins", () => {
  it("are read with Authorization: token <api_key>:<access_token> and typed", async () => {
    const session = await login();
    expect(await kite.profile(ASHA.apiKey, session.accessToken)).toEqual(PROFILE);
    expect(await kite.margins(ASHA.apiKey, session.accessToken)).toEqual({
      equity: { enabled: true, net: 99725.05, available: { cash: 245431.6, openingBalance: 245431.6, liveBalance: 99725.05, collateral: 0, intradayPayin: 0, adhocMargin: 0 }, utilised: { debits: 145706.55 } },
      commodity: { enabled: true, net: 100661.7, available: { cash: 100661.7, openingBalance: 100661.7, liveBalance: 100661.7, collateral: 0, intradayPayin: 0, adhocMargin: 0 }, utilised: { debits: 0 } },
    });
    for (const path of ["/user/profile", "/user/margins"]) {
      const [sent] = requestsTo("GET", path);
      expect(sent?.headers).toMatchObject({ authorization: `token ${ASHA.apiKey}:${session.accessToken}`, "x-kite-version": "3" });
    }
  });

  it("another user's token does not open this API key's session", async () => {
    const binas = await login(BINA);
    expect(await failure(kite.profile(ASHA.apiKey, binas.accessToken))).toBeInstanceOf(KiteSessionExpiredError);
  });
});

describe("the end of a session", () => {
  it("at 06:00 IST (expireSessions) every token issued so far is KiteSessionExpiredError; a new login works", async () => {
    const session = await login();
    fake.expireSessions();
    const expired = await failure(kite.profile(ASHA.apiKey, session.accessToken));
    expect(expired).toBeInstanceOf(KiteSessionExpiredError);
    expect(expired?.message).toBe("Kite profile: Kite says the session is over (HTTP 403 TokenException: Incorrect `api_key` or `access_token`.): log in to Kite again");
    expect(await failure(kite.margins(ASHA.apiKey, session.accessToken))).toBeInstanceOf(KiteSessionExpiredError);
    // Not retried: the same token would be refused again.
    expect(requestsTo("GET", "/user/profile")).toHaveLength(1);
    const renewed = await login();
    await expect(kite.profile(ASHA.apiKey, renewed.accessToken)).resolves.toEqual(PROFILE);
  });

  it("by Kite's clock, a token works until the next 06:00 IST and not after", async () => {
    fake.setNow(MORNING);
    const session = await login();
    fake.setNow(new Date("2026-12-02T00:29:59.000Z"));
    await expect(kite.profile(ASHA.apiKey, session.accessToken)).resolves.toEqual(PROFILE);
    fake.setNow(new Date("2026-12-02T00:30:00.000Z"));
    expect(await failure(kite.profile(ASHA.apiKey, session.accessToken))).toBeInstanceOf(KiteSessionExpiredError);
  });

  it("invalidateSession ends the session (DELETE with api_key and access_token); the token is then expired, and ending it again is done already", async () => {
    const session = await login();
    await kite.invalidateSession(ASHA.apiKey, session.accessToken);
    const [sent] = requestsTo("DELETE", "/session/token");
    expect(Object.fromEntries(sent?.query ?? [])).toEqual({ api_key: ASHA.apiKey, access_token: session.accessToken });
    expect(fake.sessions.get(session.accessToken)?.ended).toBe("logged out");
    expect(await failure(kite.profile(ASHA.apiKey, session.accessToken))).toBeInstanceOf(KiteSessionExpiredError);
    await expect(kite.invalidateSession(ASHA.apiKey, session.accessToken)).resolves.toBeUndefined();
  });
});

describe("retries", () => {
  it("500, 502 NetworkException, 503 and 504 are retried, then the call succeeds", async () => {
    const session = await login();
    kite = client({ maxRetries: 4 });
    fake.failNext(1, 500);
    fake.failNext(1, 502, "NetworkException");
    fake.failNext(1, 503);
    fake.failNext(1, 504);
    await expect(kite.profile(ASHA.apiKey, session.accessToken)).resolves.toEqual(PROFILE);
    expect(requestsTo("GET", "/user/profile")).toHaveLength(5);
  });

  it("past the retries, KiteUnavailableError: the broker is unavailable", async () => {
    const session = await login();
    fake.failNext(4, 503);
    const error = await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    expect(error.message).toBe("The broker is unavailable: Kite profile failed after 4 attempt(s): Kite profile unavailable: HTTP 503");
    expect(error.requestTokenMayBeUsed).toBe(false);
    expect(requestsTo("GET", "/user/profile")).toHaveLength(4);
  });

  it("a burst past 10 requests a second gets 429 for that API key; each is retried after the window and succeeds", async () => {
    fake.setNow(MORNING);
    const session = await login();
    // With Kite's clock standing still, the login and 9 reads fill the second; 3 reads are over.
    const reads = Array.from({ length: 12 }, () => kite.profile(ASHA.apiKey, session.accessToken));
    await waitUntil("three reads over the rate", async () => fake.rateLimited.length >= 3);
    const [throttled] = fake.rateLimited;
    expect(throttled?.path).toBe("/user/profile");
    // The window is per API key: another user's app is not held back.
    await expect(login(BINA)).resolves.toMatchObject({ userId: "CD5678" });
    fake.setNow(new Date(MORNING.getTime() + 1_000));
    expect(await Promise.all(reads)).toEqual(Array.from({ length: 12 }, () => PROFILE));
    // Every read over the rate came back once more.
    expect(requestsTo("GET", "/user/profile")).toHaveLength(12 + fake.rateLimited.length);
  });

  it("the session exchange is retried after a 429 (Kite did not act on it), not after a 503 (it may have: the token may be used)", async () => {
    fake.failNext(1, 429);
    await expect(login()).resolves.toMatchObject({ userId: "AB1234" });
    expect(requestsTo("POST", "/session/token")).toHaveLength(2);

    fake.failNext(1, 503);
    const error = await unavailable(login());
    expect(error.requestTokenMayBeUsed).toBe(true);
    expect(error.message).toBe("The broker is unavailable: Kite createSession failed after 1 attempt(s): Kite createSession unavailable: HTTP 503; the request token may have been used: log in to Kite again");
    expect(requestsTo("POST", "/session/token")).toHaveLength(3);
  });

  it("Kite that never answers: each attempt times out, then KiteUnavailableError; the session exchange is not repeated", async () => {
    const session = await login();
    kite = client({ timeoutMs: 1_000, maxRetries: 1 });
    fake.hang(true);
    const error = await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    expect(error.message).toBe("The broker is unavailable: Kite profile failed after 2 attempt(s): Kite profile timed out after 1000 ms");
    expect(requestsTo("GET", "/user/profile")).toHaveLength(2);

    const exchange = await unavailable(login());
    expect(exchange.requestTokenMayBeUsed).toBe(true);
    expect(exchange.message).toMatch(/^The broker is unavailable: Kite createSession failed after 1 attempt\(s\): Kite createSession timed out after 1000 ms; the request token may have been used/);
    expect(requestsTo("POST", "/session/token")).toHaveLength(2);
    fake.hang(false);
    await expect(kite.profile(ASHA.apiKey, session.accessToken)).resolves.toEqual(PROFILE);
  });

  it("Kite down (connection refused): KiteUnavailableError; the session exchange is retried (nothing reached Kite), and nothing was used up", async () => {
    const session = await login();
    const requestToken = fake.issueRequestToken(ASHA.apiKey);
    await fake.down();
    expect((await unavailable(kite.profile(ASHA.apiKey, session.accessToken))).message).toBe("The broker is unavailable: Kite profile failed after 4 attempt(s): Kite profile got no answer: ECONNREFUSED");
    const exchange = await unavailable(kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken));
    expect(exchange.requestTokenMayBeUsed).toBe(false);
    expect(exchange.message).toBe("The broker is unavailable: Kite createSession failed after 4 attempt(s): Kite createSession got no answer: ECONNREFUSED");
    await fake.up();
    await expect(kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken)).resolves.toMatchObject({ userId: "AB1234" });
  });

  it("the caller's abort ends the call with its reason, without a retry", async () => {
    const session = await login();
    fake.hang(true);
    const caller = new AbortController();
    const call = failure(kite.profile(ASHA.apiKey, session.accessToken, caller.signal));
    await waitUntil("the read to reach Kite", async () => requestsTo("GET", "/user/profile").length === 1);
    const reason = new Error("the GraphQL request went away");
    caller.abort(reason);
    expect(await call).toBe(reason);
    fake.hang(false);
    await expect(kite.profile(ASHA.apiKey, session.accessToken)).resolves.toEqual(PROFILE);
    expect(requestsTo("GET", "/user/profile")).toHaveLength(2);
  });
});

describe("the circuit breaker", () => {
  it("opens after consecutive failures (calls then fail without a request), and closes after a trial call gets through", async () => {
    const session = await login();
    kite = client({ maxRetries: 0, breakerThreshold: 2, halfOpenAfterMs: 200 });
    fake.failNext(2, 503);
    await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    const seen = fake.requests.length;
    const open = await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    expect(open.message).toBe("The broker is unavailable: Kite failed 2 times in a row, so calls are refused for up to 0.2 s before one tries again");
    expect(fake.requests).toHaveLength(seen);
    await waitUntil("the trial call after halfOpenAfter", () => kite.profile(ASHA.apiKey, session.accessToken).catch(() => null));
    await expect(kite.margins(ASHA.apiKey, session.accessToken)).resolves.toBeDefined();
  });

  it("429s do not count against the circuit: they are one API key's rate, not Kite's health", async () => {
    const session = await login();
    kite = client({ maxRetries: 0, breakerThreshold: 1 });
    fake.failNext(2, 429);
    await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    await unavailable(kite.profile(ASHA.apiKey, session.accessToken));
    await expect(kite.profile(ASHA.apiKey, session.accessToken)).resolves.toEqual(PROFILE);
  });
});

describe("what the fake checks, sent raw", () => {
  it("a JSON body is refused with an InputException (and the request token is not used up)", async () => {
    const requestToken = fake.issueRequestToken(ASHA.apiKey);
    const fields = { api_key: ASHA.apiKey, request_token: requestToken, checksum: sha256(ASHA.apiKey + requestToken + ASHA.apiSecret) };
    const response = await fetch(`${fake.url}/session/token`, { method: "POST", headers: { "x-kite-version": "3", "content-type": "application/json" }, body: JSON.stringify(fields) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ status: "error", message: expect.stringMatching(/form-encoded/), data: null, error_type: "InputException" });
    await expect(kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken)).resolves.toMatchObject({ userId: "AB1234" });
  });

  it("X-Kite-Version 3 is required, and Authorization must be token <api_key>:<access_token>", async () => {
    const session = await login();
    const noVersion = await fetch(`${fake.url}/user/profile`, { headers: { authorization: `token ${ASHA.apiKey}:${session.accessToken}` } });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ status: "error", error_type: "InputException" });
    for (const authorization of [`Bearer ${session.accessToken}`, `token ${session.accessToken}`, `token ${ASHA.apiKey}:wrong`]) {
      const refused = await fetch(`${fake.url}/user/profile`, { headers: { authorization, "x-kite-version": "3" } });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({ status: "error", message: "Incorrect `api_key` or `access_token`.", data: null, error_type: "TokenException" });
    }
  });
});

/** Credentials for calls that a stand-in fetch answers (long enough not to be blanked out of ordinary words). */
const STUB_REQUEST_TOKEN = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";
const STUB_ACCESS_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/** A fetch that answers `status` with `body` whatever is asked (Kite as the fake would not answer). */
const answering = (status: number, body: unknown) => async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("answers the client cannot trust, and refusals that are not the user's", () => {
  it("a 2xx without access_token, or not JSON, is KiteUnavailableError naming the field (and the token may be used)", async () => {
    const user = { user_id: "AB1234", user_name: "Asha Rao", user_shortname: "Asha", email: "asha@example.com", user_type: "individual", broker: "ZERODHA", exchanges: [], products: [], order_types: [], avatar_url: null };
    const missing = await unavailable(client({ fetch: answering(200, { status: "success", data: { ...user, public_token: "p", login_time: "2026-12-01 09:30:00" } }) }).createSession(ASHA.apiKey, ASHA.apiSecret, STUB_REQUEST_TOKEN));
    expect(missing.message).toBe("The broker is unavailable: Kite answered createSession with what Kite does not send (data.access_token is missing, not a non-empty string)");
    expect(missing.requestTokenMayBeUsed).toBe(true);
    expect((await unavailable(client({ fetch: answering(200, "<html>captive portal</html>") }).profile(ASHA.apiKey, STUB_ACCESS_TOKEN))).message).toBe("The broker is unavailable: Kite profile answered HTTP 200 without a JSON body");
  });

  it("a PermissionException, or an InputException naming no value of the user's, is KiteRefusedError, not retried", async () => {
    let calls = 0;
    const permission = client({
      fetch: async () => {
        calls++;
        return answering(403, { status: "error", message: "Insufficient permission for that call.", data: null, error_type: "PermissionException" })();
      },
    });
    const error = await failure(permission.margins(ASHA.apiKey, STUB_ACCESS_TOKEN));
    expect(error).toBeInstanceOf(KiteRefusedError);
    expect(error).toMatchObject({ status: 403, errorType: "PermissionException" });
    expect(error?.message).toBe("Kite margins refused: HTTP 403 PermissionException: Insufficient permission for that call.");
    expect(calls).toBe(1);
    const input = await failure(client({ fetch: answering(400, { status: "error", message: "Invalid segment.", data: null, error_type: "InputException" }) }).createSession(ASHA.apiKey, ASHA.apiSecret, STUB_REQUEST_TOKEN));
    expect(input).toBeInstanceOf(KiteRefusedError);
  });
});

describe("no credential in any error", () => {
  it("the API key and secret, request and access tokens and the checksum appear in no error of any path, even when Kite echoes them", async () => {
    const errors: unknown[] = [];
    const collect = async (call: Promise<unknown>) => errors.push(await failure(call));
    const session: KiteSession = await login();
    const requestToken = fake.issueRequestToken(ASHA.apiKey);
    const checksum = sha256(ASHA.apiKey + requestToken + ASHA.apiSecret);
    const credentials = [ASHA.apiKey, ASHA.apiSecret, requestToken, checksum, session.accessToken];

    // The fake's refusals and outages.
    await collect(kite.createSession(ASHA.apiKey, `${ASHA.apiSecret}-wrong`, requestToken));
    await collect(kite.createSession(`${ASHA.apiKey}x`, ASHA.apiSecret, requestToken));
    fake.expireSessions();
    await collect(kite.profile(ASHA.apiKey, session.accessToken));
    await collect(kite.margins(ASHA.apiKey, session.accessToken));
    fake.failNext(4, 503);
    await collect(kite.margins(ASHA.apiKey, session.accessToken));
    fake.failNext(1, 502, "NetworkException");
    await collect(kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken));
    fake.hang(true);
    const impatient = client({ timeoutMs: 300, maxRetries: 0 });
    await collect(impatient.profile(ASHA.apiKey, session.accessToken));
    await collect(impatient.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken));
    fake.hang(false);
    await fake.down();
    await collect(kite.invalidateSession(ASHA.apiKey, session.accessToken));
    await collect(kite.createSession(ASHA.apiKey, ASHA.apiSecret, requestToken));
    const breaker = client({ maxRetries: 0, breakerThreshold: 1 });
    await collect(breaker.profile(ASHA.apiKey, session.accessToken));
    await collect(breaker.profile(ASHA.apiKey, session.accessToken));
    await fake.up();

    // Kite echoing back every credential a call holds (even the secret, which it is never sent), on every kind of answer.
    const exchangeEcho = `echo ${[ASHA.apiKey, ASHA.apiSecret, requestToken, checksum].join(" ")}`;
    const sessionEcho = `echo ${[ASHA.apiKey, session.accessToken].join(" ")}`;
    for (const [status, errorType, said] of [
      [403, "TokenException", "Invalid `checksum`."],
      [403, "TokenException", "Token is invalid or has expired."],
      [400, "InputException", "Invalid `api_key`."],
      [400, "InputException", "Invalid segment."],
      [403, "PermissionException", "Insufficient permission."],
      [400, "NetworkException", "Gateway unreachable."],
    ] as const) {
      const echoing = (echo: string) => client({ maxRetries: 0, fetch: answering(status, { status: "error", message: `${said} ${echo}`, data: null, error_type: errorType }) });
      await collect(echoing(exchangeEcho).createSession(ASHA.apiKey, ASHA.apiSecret, requestToken));
      await collect(echoing(sessionEcho).profile(ASHA.apiKey, session.accessToken));
      await collect(echoing(sessionEcho).margins(ASHA.apiKey, session.accessToken));
    }
    await collect(client({ fetch: answering(200, { status: "success", data: { user_id: session.accessToken } }) }).createSession(ASHA.apiKey, ASHA.apiSecret, requestToken));

    // Every kind of error was met.
    for (const kind of [KiteInputError, KiteSessionExpiredError, KiteUnavailableError, KiteRefusedError]) expect(errors.some((e) => e instanceof kind)).toBe(true);
    expect(errors.filter((e) => e instanceof KiteInputError).map((e) => (e as KiteInputError).field)).toEqual(expect.arrayContaining(["apiKey", "apiSecret", "requestToken"]));
    for (const error of errors) {
      // Message, properties, fields and the cause chain, as a logger would print them.
      const printed = `${inspect(error, { depth: 10 })} ${JSON.stringify(error)} ${String(error)}`;
      for (const credential of credentials) expect(printed).not.toContain(credential);
    }
  });
});
