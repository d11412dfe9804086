import { UnauthenticatedError } from "./errors";
import type { Viewer } from "./context";

/**
 * Turns the `Authorization` value (HTTP header, or `authorization` in the WebSocket
 * `connection_init` payload) into a viewer. No value: anonymous. A value that does not verify:
 * UnauthenticatedError, on both transports alike.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Viewer | null>;
}

/**
 * The authenticator while no credentials are issued (the accounts module replaces it with access
 * token verification): anonymous callers pass, any presented credential is refused.
 */
export const refuseAllCredentials: Authenticator = {
  async authenticate(authorization) {
    if (authorization === undefined || authorization === "") return null;
    throw new UnauthenticatedError("Invalid or expired access token");
  },
};
