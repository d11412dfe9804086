import { AppError } from "../../shared/errors";

/** What the broker says of the account holder (no credential). */
export interface BrokerProfile {
  brokerUserId: string;
  userName: string;
  email: string | null;
  exchanges: string[];
  products: string[];
}

export interface BrokerSession {
  profile: BrokerProfile;
  accessToken: string;
  loginTime: Date;
}

/**
 * A brokerage as this module uses it (Kite Connect: kite/kite-broker.ts). A refused value is
 * BrokerRefusedInput; an ended session BrokerSessionEndedError; an unreachable broker, after
 * retries, BrokerUnavailableError. Nothing else is thrown.
 */
export interface Broker {
  readonly name: "KITE";
  /** Exchanges the login redirect's request token for a session, with the app's key and secret. */
  startSession(apiKey: string, apiSecret: string, requestToken: string): Promise<BrokerSession>;
  profile(apiKey: string, accessToken: string): Promise<BrokerProfile>;
  /** Ends the session at the broker (unlinking, replacing credentials). */
  endSession(apiKey: string, accessToken: string): Promise<void>;
  /** When a session begun at `loginTime` ends. */
  sessionEnd(loginTime: Date): Date;
}

/**
 * The broker refused a value of the exchange or the stored credentials (a wrong API key or secret,
 * a used request token, an app the broker does not let in): the service names the input field, or
 * marks stored credentials INVALID_CREDENTIALS.
 */
export class BrokerRefusedInput extends Error {
  constructor(
    readonly field: "apiKey" | "apiSecret" | "requestToken",
    /** What to tell the user (no credential in it). */
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** The broker ended the session (Kite's daily expiry, a logout): the owner logs in again and renews it. */
export class BrokerSessionEndedError extends AppError {
  readonly code = "REAUTH_REQUIRED";
  constructor(message = "The broker session has ended: log in at the broker again and renew it") {
    super(message);
  }
}

/** The broker did not answer (after retries): nothing was changed. */
export class BrokerUnavailableError extends AppError {
  readonly code = "BROKER_UNAVAILABLE";
  constructor(message = "The broker is unavailable; nothing was changed, try again later") {
    super(message);
  }
}
