import type { TokenVerifier } from "../../graphql/auth";
import type { Viewer } from "../../graphql/context";
import { UnauthenticatedError } from "../../shared/errors";
import type { AccessTokens } from "../../platform/jwt/access-tokens";
import type { SessionRevocations } from "./revocations";

/**
 * A user's access token (the bearer of HTTP and WebSocket, and what introspection asks about): the
 * JWT must verify (InvalidTokenError otherwise) and its session must not have ended.
 */
export class AccessTokenVerifier implements TokenVerifier<Viewer> {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly revocations: SessionRevocations,
  ) {}

  async verify(token: string): Promise<Viewer> {
    const claims = await this.tokens.verify(token);
    if (await this.revocations.isRevoked(claims.sessionId)) throw new UnauthenticatedError("Session has ended");
    return claims;
  }
}
