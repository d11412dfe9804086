import type { Viewer } from "./context";

/**
 * Turns the `Authorization` value (HTTP header, or `authorization` in the WebSocket
 * `connection_init` payload) into a viewer. No value: anonymous. A value that does not verify:
 * UnauthenticatedError, on both transports alike.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Viewer | null>;
}
