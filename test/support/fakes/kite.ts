import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { startFakeServer, type FailureStatus, type FakeReply, type FakeRequest } from "./fake-server";

/** One user's Kite Connect app, as the fake knows it: the app's credentials and the user who logs in through it. */
export interface FakeKiteApp {
  apiKey: string;
  apiSecret: string;
  userId: string;
  userName?: string;
  email?: string;
}

export interface FakeKiteOptions {
  apps: FakeKiteApp[];
  /** Kite's clock: request-token lifetimes, login times, 06:00 IST expiries, rate windows. The real time unless told. */
  now?: () => Date;
}

export interface FakeKiteSession {
  apiKey: string;
  userId: string;
  accessToken: string;
  loginTime: Date;
  /** The next 06:00 IST after the login: the regulatory daily expiry. */
  expiresAt: Date;
  /** Why the token no longer works before its expiry: `expireSessions`, or a logout. */
  ended: "expired" | "logged out" | null;
}

/** A request token lives a few minutes at Kite (kite.trade/forum/discussion/comment/39248); five here. */
const REQUEST_TOKEN_LIFETIME_MS = 5 * 60_000;
/** "All other endpoints": 10 requests a second per API key (kite.trade/forum/discussion/11404). */
const RATE_LIMIT = 10;
/** 06:00 IST is 00:30 UTC. */
const EXPIRY_UTC_MINUTES = 30;
const IST_OFFSET_MS = 330 * 60_000;

const kiteError = (status: number, errorType: string, message: string): FakeReply => ({ status, body: { status: "error", message, data: null, error_type: errorType } });
const success = (data: unknown): FakeReply => ({ status: 200, body: { status: "success", data } });
/** Kite's own words where they are known (docs, forum threads); the header check's wording is the fake's. */
const INVALID_SESSION = () => kiteError(403, "TokenException", "Incorrect `api_key` or `access_token`.");
const INVALID_TOKEN = () => kiteError(403, "TokenException", "Token is invalid or has expired.");
const token = () => randomBytes(16).toString("hex");

/** `YYYY-MM-DD HH:mm:ss` in Indian Standard Time, as Kite writes `login_time`. */
const istTime = (at: Date) => new Date(at.getTime() + IST_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ");

/** The first 06:00 IST after `at`. */
function nextExpiry(at: Date): Date {
  const sameDay = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), 0, EXPIRY_UTC_MINUTES);
  return new Date(sameDay > at.getTime() ? sameDay : sameDay + 86_400_000);
}

function sameText(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The user fields of `generate_session.json` and `user_profile.json` (zerodha/kiteconnect-mocks). */
function user(app: FakeKiteApp) {
  const userName = app.userName ?? "Kite Connect User";
  return {
    user_id: app.userId,
    user_type: "individual",
    email: app.email ?? `${app.userId.toLowerCase()}@example.com`,
    user_name: userName,
    user_shortname: userName.split(" ")[0],
    broker: "ZERODHA",
    exchanges: ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"],
    products: ["CNC", "NRML", "MIS", "BO", "CO"],
    order_types: ["MARKET", "LIMIT", "SL", "SL-M"],
    avatar_url: null,
    meta: { demat_consent: "physical" },
  };
}

/** `user_margins.json`: both segments, every figure Kite sends. */
const MARGINS = {
  equity: {
    enabled: true,
    net: 99725.05,
    available: { adhoc_margin: 0, cash: 245431.6, opening_balance: 245431.6, live_balance: 99725.05, collateral: 0, intraday_payin: 0 },
    utilised: { debits: 145706.55, exposure: 38981.25, m2m_realised: 761.7, m2m_unrealised: 0, option_premium: 0, payout: 0, span: 101989, holding_sales: 0, turnover: 0, liquid_collateral: 0, stock_collateral: 0, delivery: 0 },
  },
  commodity: {
    enabled: true,
    net: 100661.7,
    available: { adhoc_margin: 0, cash: 100661.7, opening_balance: 100661.7, live_balance: 100661.7, collateral: 0, intraday_payin: 0 },
    utilised: { debits: 0, exposure: 0, m2m_realised: 0, m2m_unrealised: 0, option_premium: 0, payout: 0, span: 0, holding_sales: 0, turnover: 0, liquid_collateral: 0, stock_collateral: 0, delivery: 0 },
  },
};

/** The API key a request speaks for (rate limits are per key): its Authorization header, or its `api_key` parameter. */
function apiKeyOf(request: FakeRequest): string {
  const auth = /^token ([^:]+):/.exec(request.headers.authorization ?? "");
  return auth?.[1] ?? request.query.get("api_key") ?? new URLSearchParams(request.body.toString("utf8")).get("api_key") ?? "";
}

/**
 * Kite Connect v3 on loopback, for many users' own apps: `POST /session/token` (form-encoded only,
 * checksum = SHA-256 of api_key + request_token + api_secret, request tokens single-use and
 * short-lived), `DELETE /session/token` (logout), `GET /user/profile` and `GET /user/margins`
 * behind `Authorization: token <api_key>:<access_token>`, in Kite's envelopes and shapes. Every
 * request must send `X-Kite-Version: 3`; past 10 requests in a second of its clock an API key gets
 * 429. Access tokens end at the next 06:00 IST by its clock, or all at once (`expireSessions`).
 * Like every provider fake, it can fail, hang or go down (fake-server.ts).
 *
 * Where Kite's answer to a case is not documented, the fake picks one and says so: an unknown
 * api_key is an InputException; a failed exchange (bad checksum) leaves the request token usable;
 * a 429 carries no Retry-After.
 */
export async function startFakeKite(options: FakeKiteOptions) {
  let now = options.now ?? (() => new Date());
  const apps = new Map(options.apps.map((app) => [app.apiKey, app]));
  const requestTokens = new Map<string, { apiKey: string; issuedAt: Date; used: boolean }>();
  const sessions = new Map<string, FakeKiteSession>();
  const windows = new Map<string, { second: number; count: number }>();
  const rateLimited: FakeRequest[] = [];

  /** Counts the request against its API key's second; false when it is one too many. */
  function withinRate(request: FakeRequest): boolean {
    const key = apiKeyOf(request);
    const second = Math.floor(now().getTime() / 1000);
    const window = windows.get(key);
    if (!window || window.second !== second) {
      windows.set(key, { second, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= RATE_LIMIT;
  }

  const live = (session: FakeKiteSession | undefined, apiKey: string): session is FakeKiteSession =>
    session !== undefined && session.apiKey === apiKey && session.ended === null && now().getTime() < session.expiresAt.getTime();

  function authorised(request: FakeRequest): FakeKiteSession | null {
    const auth = /^token ([^:\s]+):(\S+)$/.exec(request.headers.authorization ?? "");
    if (!auth) return null;
    const session = sessions.get(auth[2] as string);
    return live(session, auth[1] as string) ? session : null;
  }

  function createSession(request: FakeRequest): FakeReply {
    if (!(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded"))
      return kiteError(400, "InputException", "Invalid request: parameters must be form-encoded (application/x-www-form-urlencoded).");
    const form = new URLSearchParams(request.body.toString("utf8"));
    for (const name of ["api_key", "request_token", "checksum"]) if (!form.get(name)) return kiteError(400, "InputException", `Missing \`${name}\``);
    const apiKey = form.get("api_key") as string;
    const requestToken = form.get("request_token") as string;
    const app = apps.get(apiKey);
    if (!app) return kiteError(400, "InputException", "Invalid `api_key`.");
    const issued = requestTokens.get(requestToken);
    if (!issued || issued.used || issued.apiKey !== apiKey || now().getTime() - issued.issuedAt.getTime() > REQUEST_TOKEN_LIFETIME_MS) return INVALID_TOKEN();
    const expected = createHash("sha256").update(apiKey + requestToken + app.apiSecret).digest("hex");
    if (!sameText(form.get("checksum") as string, expected)) return kiteError(403, "TokenException", "Invalid `checksum`.");
    issued.used = true;
    const loginTime = now();
    const session: FakeKiteSession = { apiKey, userId: app.userId, accessToken: token(), loginTime, expiresAt: nextExpiry(loginTime), ended: null };
    sessions.set(session.accessToken, session);
    return success({ ...user(app), api_key: apiKey, access_token: session.accessToken, public_token: token(), enctoken: token(), refresh_token: "", silo: "", login_time: istTime(loginTime) });
  }

  function logout(request: FakeRequest): FakeReply {
    const apiKey = request.query.get("api_key");
    const accessToken = request.query.get("access_token");
    if (!apiKey) return kiteError(400, "InputException", "Missing `api_key`");
    if (!accessToken) return kiteError(400, "InputException", "Missing `access_token`");
    const session = sessions.get(accessToken);
    if (!live(session, apiKey)) return INVALID_SESSION();
    session.ended = "logged out";
    return success(true);
  }

  function handle(request: FakeRequest): FakeReply {
    if (request.headers["x-kite-version"] !== "3") return kiteError(400, "InputException", "Invalid or missing X-Kite-Version header (3 expected).");
    if (!withinRate(request)) {
      rateLimited.push(request);
      return kiteError(429, "NetworkException", "Too many requests");
    }
    const route = `${request.method} ${request.path}`;
    if (route === "POST /session/token") return createSession(request);
    if (route === "DELETE /session/token") return logout(request);
    if (route === "GET /user/profile" || route === "GET /user/margins") {
      const session = authorised(request);
      if (!session) return INVALID_SESSION();
      return success(request.path === "/user/profile" ? user(apps.get(session.apiKey) as FakeKiteApp) : MARGINS);
    }
    return kiteError(404, "GeneralException", "Route not found");
  }

  const server = await startFakeServer({
    handle,
    errorBody: (status) => (status === 429 ? kiteError(429, "NetworkException", "Too many requests").body : kiteError(status, "GeneralException", "Something went wrong").body),
  });

  return {
    url: server.url,
    close: server.close,
    down: server.down,
    up: server.up,
    hang: server.hang,
    /** Every request received, in order (answered or not). */
    requests: server.requests,
    /** The requests answered 429 for their API key's rate. */
    rateLimited,
    /** Every session issued, by access token. */
    sessions,
    /**
     * The next `count` requests get `status` with Kite's error envelope (`errorType`:
     * GeneralException unless told, NetworkException for a 429), and Retry-After when given.
     */
    failNext(count: number, status: FailureStatus, errorType?: string, retryAfter?: number): void {
      server.failNext(count, status, retryAfter, errorType === undefined ? undefined : kiteError(status, errorType, `${errorType} (forced)`).body);
    },
    /** What Kite's login redirect hands the app (`?request_token=…`) once the user has logged in through it. */
    issueRequestToken(apiKey: string): string {
      if (!apps.has(apiKey)) throw new Error(`fake Kite: no app with API key ${apiKey}`);
      const requestToken = token();
      requestTokens.set(requestToken, { apiKey, issuedAt: now(), used: false });
      return requestToken;
    },
    /** "06:00 IST": every access token issued so far stops working (TokenException). */
    expireSessions(): void {
      for (const session of sessions.values()) session.ended ??= "expired";
    },
    /** Sets Kite's clock to `at`, where it stays until set again. */
    setNow(at: Date): void {
      now = () => at;
    },
  };
}

export type FakeKite = Awaited<ReturnType<typeof startFakeKite>>;
