import { randomUUID } from "node:crypto";
import { SignJWT, errors, jwtVerify, type JWTPayload } from "jose";
import type { Clock } from "../clock";
import type { KeyStore } from "./keys";

export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Verified tokens remembered (a few hundred bytes each). */
const VERIFIED_CACHE_SIZE = 10_000;

export interface AccessClaims {
  userId: string;
  sessionId: string;
  roles: string[];
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/**
 * Access tokens: JWTs signed with the current key (header kid, typ at+jwt), carrying sub, sid,
 * roles, iss, aud, iat, exp, jti. Verification pins the key's algorithm, issuer, audience, type and
 * the presence of exp; the key comes from the local map by kid only (jku, x5u and jwk headers are
 * never read), so an unknown kid fails.
 */
export class AccessTokens {
  private readonly verified = new Map<string, { claims: AccessClaims; kid: string; expiresAtMs: number }>();

  constructor(
    private readonly keys: KeyStore,
    private readonly options: { issuer: string; audience: string; ttlSeconds: number },
    private readonly clock: Clock,
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  async issue(claims: AccessClaims): Promise<string> {
    const { kid, alg, key } = this.keys.signingKey();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    return new SignJWT({ sid: claims.sessionId, roles: claims.roles })
      .setProtectedHeader({ alg, kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(claims.userId)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.options.ttlSeconds)
      .setJti(randomUUID())
      .sign(key);
  }

  /**
   * Verifies a token, or finds it among the tokens verified before: a signature check is most of
   * an authenticated request's cost, and a client sends the same token for up to its lifetime. A
   * cached token is taken only while it has not expired and its key is still in the local set (a
   * key withdrawn in an emergency, which every instance hears of by NOTIFY, ends its tokens at
   * once); the cache holds at most `VERIFIED_CACHE_SIZE` tokens, the least recently verified going
   * first. Whether its session has ended is not cached: that is asked on every request.
   */
  async verify(token: string): Promise<AccessClaims> {
    const nowMs = this.clock.now().getTime();
    const hit = this.verified.get(token);
    if (hit && hit.expiresAtMs > nowMs && this.keys.verificationKey(hit.kid)) return hit.claims;
    if (hit) this.verified.delete(token);
    const { claims, kid, expiresAtMs } = await this.verifySignature(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims, kid, expiresAtMs });
    return claims;
  }

  private async verifySignature(token: string): Promise<{ claims: AccessClaims; kid: string; expiresAtMs: number }> {
    let payload: JWTPayload;
    let kid = "";
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = this.keys.verificationKey(header.kid);
          if (!key || header.alg !== key.alg) throw new InvalidTokenError("unknown signing key");
          kid = key.kid;
          return key.publicKey;
        },
        {
          issuer: this.options.issuer,
          audience: this.options.audience,
          typ: ACCESS_TOKEN_TYPE,
          requiredClaims: ["exp", "iat", "sub", "jti"],
          currentDate: this.clock.now(),
        },
      ));
    } catch (error) {
      if (error instanceof InvalidTokenError || error instanceof errors.JOSEError) throw new InvalidTokenError((error as Error).message);
      throw error;
    }
    const { sub, sid, roles } = payload as JWTPayload & { sid?: unknown; roles?: unknown };
    if (typeof sub !== "string" || typeof sid !== "string" || !Array.isArray(roles)) throw new InvalidTokenError("missing claims");
    // Frozen: remembered claims are shared by every request that presents the token.
    const claims = Object.freeze({ userId: sub, sessionId: sid, roles: Object.freeze(roles.filter((r): r is string => typeof r === "string")) as string[] });
    return { claims, kid, expiresAtMs: (payload.exp as number) * 1000 };
  }
}
