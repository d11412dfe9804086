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
  /** How the user proved who they are in this session (RFC 8176: `pwd`, `otp`, …). */
  amr: string[];
  /** When the user last authenticated in this session, a second factor included (OIDC `auth_time`, epoch seconds). */
  authTime: number;
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
    return new SignJWT({ sid: claims.sessionId, roles: claims.roles, amr: claims.amr, auth_time: claims.authTime })
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
    const { sub, sid, roles, amr = ["pwd"], auth_time: authTime = payload.iat } = payload as JWTPayload & { sid?: unknown; roles?: unknown; amr?: unknown; auth_time?: unknown };
    if (typeof sub !== "string" || typeof sid !== "string" || !Array.isArray(roles) || !Array.isArray(amr) || typeof authTime !== "number") throw new InvalidTokenError("missing claims");
    // Frozen: remembered claims are shared by every request that presents the token. (Tokens
    // issued before `amr` and `auth_time` were claims are a password login's, at `iat`.)
    const strings = (values: unknown[]) => Object.freeze(values.filter((v): v is string => typeof v === "string")) as string[];
    const claims = Object.freeze({ userId: sub, sessionId: sid, roles: strings(roles), amr: strings(amr), authTime });
    return { claims, kid, expiresAtMs: (payload.exp as number) * 1000 };
  }
}
