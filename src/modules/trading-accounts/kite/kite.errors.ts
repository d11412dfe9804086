import { BadUserInputError } from "../../../shared/errors";

/**
 * What Kite's refusals of a session exchange come to, named as the GraphQL inputs name the values
 * (`LinkTradingAccountInput`, `RotateTradingAccountCredentialsInput`, `renewTradingAccountSession`):
 * Kite names `api_key` and `request_token` itself; a bad `checksum` means the API secret, since
 * Kite checks the request token (issued to that API key) before the checksum over both.
 */
export type KiteInputField = "apiKey" | "apiSecret" | "requestToken";

const PROBLEMS: Record<KiteInputField, string> = {
  apiKey: "is not an API key Kite knows",
  apiSecret: "does not belong to the API key",
  requestToken: "is invalid, already used or expired: log in to Kite again",
};

/**
 * Kite refused what the user gave for a session exchange: BAD_USER_INPUT naming the field. Where
 * the value is not the user's (a renewal with the stored secret), the caller decides what it means.
 */
export class KiteInputError extends BadUserInputError {
  constructor(
    readonly field: KiteInputField,
    /** Kite's `error_type` and message, credentials blanked. */
    readonly kiteSaid: string,
  ) {
    super([{ field, message: `${PROBLEMS[field]} (Kite: ${kiteSaid})` }]);
  }
}

/** Every other failure of a Kite call: the trading-accounts service decides what each means for an account. */
export abstract class KiteError extends Error {}

/**
 * Kite says the access token opens no session (a TokenException on a call made with it): expired at
 * 06:00 IST, invalidated through the API, or ended by a master logout. The account needs
 * REAUTH_REQUIRED; a new login (request token) renews it.
 */
export class KiteSessionExpiredError extends KiteError {
  override name = "KiteSessionExpiredError";
}

/**
 * The broker could not be reached or kept failing (5xx, 429 past the retries, timeouts, refused
 * connections, an open circuit, an answer that is not Kite's): BROKER_UNAVAILABLE. Nothing changed
 * at Kite, except that a session exchange whose request may have reached Kite may have used up
 * the request token (`requestTokenMayBeUsed`): the user logs in again rather than retrying it.
 */
export class KiteUnavailableError extends KiteError {
  override name = "KiteUnavailableError";

  constructor(
    message: string,
    readonly requestTokenMayBeUsed: boolean,
    /** Seconds Kite asked to wait, when the last failure said (Retry-After). */
    readonly retryAfterSeconds: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Kite refused a call for a reason that is neither the user's input nor an ended session (a
 * PermissionException, a UserException, an InputException naming no value the user gave, ...).
 * The same request would be refused again: it is not retried.
 */
export class KiteRefusedError extends KiteError {
  override name = "KiteRefusedError";

  constructor(
    message: string,
    readonly status: number,
    /** Kite's `error_type`, when it gave one. */
    readonly errorType: string | null,
  ) {
    super(message);
  }
}
