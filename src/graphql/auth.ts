import { InvalidTokenError, isClientToken } from "../platform/jwt/access-tokens";
import { UnauthenticatedError } from "../shared/errors";
import type { ClientCaller, Viewer } from "./context";

/** Who a bearer token says is calling: a user in a session, or a service client; never both. */
export type Bearer = { viewer: Viewer; client: null } | { viewer: null; client: ClientCaller };

/**
 * Turns the `Authorization` value (HTTP header, or `authorization` in the WebSocket
 * `connection_init` payload) into a caller. No value: anonymous. A value that does not verify:
 * UnauthenticatedError, on both transports alike.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Bearer | null>;
}

/** Verifies one kind of bearer token; throws InvalidTokenError or UnauthenticatedError when it is not (or no longer) good. */
export interface TokenVerifier<T> {
  verify(token: string): Promise<T>;
}

const INVALID = "Invalid or expired access token";

/**
 * `Authorization: Bearer <access token>`: a service client's token (it carries `client_id`) goes to
 * `clients`, any other to `users`; each verifies everything of its own kind and refuses the other's.
 */
export function bearerAuthenticator(users: TokenVerifier<Viewer>, clients: TokenVerifier<ClientCaller>): Authenticator {
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === "") return null;
      const token = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/i.exec(authorization)?.[1];
      if (!token) throw new UnauthenticatedError(INVALID);
      try {
        return isClientToken(token) ? { viewer: null, client: await clients.verify(token) } : { viewer: await users.verify(token), client: null };
      } catch (error) {
        if (error instanceof InvalidTokenError) throw new UnauthenticatedError(INVALID);
        throw error;
      }
    },
  };
}
