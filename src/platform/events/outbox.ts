/** Queue names of the contract. */
export const USER_EVENTS = "user-events";
export const NOTIFICATIONS = "notifications";
/** Outbox rows for an internal consumer have the destination `handler:<consumer>`. */
export const HANDLER_PREFIX = "handler:";

/** A committed outbox row as the relay delivers it. */
export interface OutboxMessage {
  id: string;
  destination: string;
  /** Job name: event type or notification template. */
  name: string;
  payload: unknown;
  attempts: number;
}

/** The transport cannot be reached (e.g. Redis down): retry later, without counting an attempt. */
export class TransportUnavailableError extends Error {
  override name = "TransportUnavailableError";
}

/** Delivers messages; resolves with the error of each message that failed (absent = delivered). */
export interface Transport {
  deliver(messages: OutboxMessage[]): Promise<Map<string, Error>>;
  close(): Promise<void>;
}
