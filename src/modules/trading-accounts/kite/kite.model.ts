import { KiteUnavailableError } from "./kite.errors";

/** The Kite Connect calls this service makes. */
export type KiteCall = "createSession" | "profile" | "margins" | "invalidateSession";

/** The user as Kite describes them (`GET /user/profile`, and the user part of a session). */
export interface KiteProfile {
  /** The permanent client id at Zerodha and the exchanges (`AB1234`). */
  userId: string;
  userName: string;
  userShortname: string;
  email: string;
  /** `individual` for every retail user. */
  userType: string;
  /** `ZERODHA`. */
  broker: string;
  exchanges: string[];
  products: string[];
  orderTypes: string[];
  avatarUrl: string | null;
}

/**
 * A session from `POST /session/token`. Kite's `enctoken` and `refresh_token` (the latter for
 * approved platforms only) are left out: nothing here uses them, and a credential not kept is
 * one that cannot leak.
 */
export interface KiteSession extends KiteProfile {
  accessToken: string;
  publicToken: string;
  loginTime: Date;
}

/** One segment of `GET /user/margins`: the funds a trader has, and what is in use. */
export interface KiteSegmentMargins {
  enabled: boolean;
  /** What is available to trade with now. */
  net: number;
  available: { cash: number; openingBalance: number; liveBalance: number; collateral: number; intradayPayin: number; adhocMargin: number };
  /** What is in use: `debits`, the sum of the margins blocked (Kite's other `utilised` figures are its parts). */
  utilised: { debits: number };
}

export interface KiteMargins {
  equity: KiteSegmentMargins;
  commodity: KiteSegmentMargins;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** A value's kind, never the value (it may be a token). */
const kind = (value: unknown) => (value === undefined ? "missing" : value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`);

/**
 * Reads one object of a Kite answer. A field missing or of another type is an answer we cannot
 * trust (a changed API, a proxy's page): the broker is unavailable, and the problem names the
 * field, never a value. A session exchange that got such an answer got through to Kite: its
 * request token may be used.
 */
class Reader {
  constructor(
    private readonly call: KiteCall,
    private readonly path: string,
    private readonly fields: Json,
  ) {}

  static of(call: KiteCall, path: string, value: unknown): Reader {
    if (!isObject(value)) throw unreadable(call, `${path} is ${kind(value)}, not an object`);
    return new Reader(call, path, value);
  }

  object(name: string): Reader {
    return Reader.of(this.call, `${this.path}.${name}`, this.fields[name]);
  }

  string(name: string, { nonEmpty = false } = {}): string {
    const value = this.fields[name];
    if (typeof value !== "string" || (nonEmpty && value === "")) throw this.wrong(name, value, nonEmpty ? "a non-empty string" : "a string");
    return value;
  }

  /** A string, or null where Kite sends null or nothing (`avatar_url`). */
  optionalString(name: string): string | null {
    const value = this.fields[name];
    return value === undefined || value === null ? null : this.string(name);
  }

  strings(name: string): string[] {
    const value = this.fields[name];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw this.wrong(name, value, "a list of strings");
    return value as string[];
  }

  number(name: string): number {
    const value = this.fields[name];
    if (typeof value !== "number" || !Number.isFinite(value)) throw this.wrong(name, value, "a number");
    return value;
  }

  boolean(name: string): boolean {
    const value = this.fields[name];
    if (typeof value !== "boolean") throw this.wrong(name, value, "a boolean");
    return value;
  }

  /** Kite's times, `YYYY-MM-DD HH:mm:ss` without a zone: Indian Standard Time, Kite's own. */
  istTime(name: string): Date {
    const value = this.string(name);
    const parts = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
    const at = parts ? new Date(`${parts[1]}T${parts[2]}+05:30`) : null;
    if (!at || Number.isNaN(at.getTime())) throw unreadable(this.call, `${this.path}.${name} is not a time as YYYY-MM-DD HH:mm:ss`);
    return at;
  }

  private wrong(name: string, value: unknown, expected: string): KiteUnavailableError {
    return unreadable(this.call, `${this.path}.${name} is ${kind(value)}, not ${expected}`);
  }
}

const unreadable = (call: KiteCall, problem: string) => new KiteUnavailableError(`The broker is unavailable: Kite answered ${call} with what Kite does not send (${problem})`, call === "createSession");

/** The `data` of Kite's success envelope, `{ status: "success", data }`. */
export function readData(call: KiteCall, body: unknown): unknown {
  const envelope = Reader.of(call, "the answer", body);
  if (envelope.string("status") !== "success") throw unreadable(call, 'the answer is 2xx without status "success"');
  return (body as Json).data;
}

function readProfileOf(user: Reader): KiteProfile {
  return {
    userId: user.string("user_id", { nonEmpty: true }),
    userName: user.string("user_name"),
    userShortname: user.string("user_shortname"),
    email: user.string("email"),
    userType: user.string("user_type"),
    broker: user.string("broker"),
    exchanges: user.strings("exchanges"),
    products: user.strings("products"),
    orderTypes: user.strings("order_types"),
    avatarUrl: user.optionalString("avatar_url"),
  };
}

export const readProfile = (data: unknown): KiteProfile => readProfileOf(Reader.of("profile", "data", data));

export function readSession(data: unknown): KiteSession {
  const session = Reader.of("createSession", "data", data);
  return { ...readProfileOf(session), accessToken: session.string("access_token", { nonEmpty: true }), publicToken: session.string("public_token"), loginTime: session.istTime("login_time") };
}

function readSegment(segment: Reader): KiteSegmentMargins {
  const available = segment.object("available");
  return {
    enabled: segment.boolean("enabled"),
    net: segment.number("net"),
    available: {
      cash: available.number("cash"),
      openingBalance: available.number("opening_balance"),
      liveBalance: available.number("live_balance"),
      collateral: available.number("collateral"),
      intradayPayin: available.number("intraday_payin"),
      adhocMargin: available.number("adhoc_margin"),
    },
    utilised: { debits: segment.object("utilised").number("debits") },
  };
}

export function readMargins(data: unknown): KiteMargins {
  const margins = Reader.of("margins", "data", data);
  return { equity: readSegment(margins.object("equity")), commodity: readSegment(margins.object("commodity")) };
}
