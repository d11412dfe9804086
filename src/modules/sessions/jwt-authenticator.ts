import type { Authenticator } from "../../graphql/auth";
import { UnauthenticatedError } from "../../shared/errors";
import { InvalidTokenError, type AccessTokens } from "../../platform/jwt/access-tokens";
import type { SessionRevocations } from "./revocations";

/**
 * `Authorization: Bearer <access token>` (HTTP header or the WebSocket connection_init payload):
 * the JWT must verify and its session must not have ended. Anything else is UNAUTHENTICATED.
 */
export class JwtAuthenticator implements Authenticator {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly revocations: SessionRevocations,
  ) {}

  async authenticate(authorization: string | undefined) {
    if (authorization === undefined || authorization === "") return null;
    const match = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/i.exec(authorization);
    if (!match?.[1]) throw new UnauthenticatedError("Invalid or expired access token");
    try {
      const claims = await this.tokens.verify(match[1]);
      if (await this.revocations.isRevoked(claims.sessionId)) throw new UnauthenticatedError("Session has ended");
      return claims;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new UnauthenticatedError("Invalid or expired access token");
      throw error;
    }
  }
}
