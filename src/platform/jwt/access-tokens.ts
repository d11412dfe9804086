import { randomUUID } from "node:crypto";
import { decodeJwt, errors, jwtVerify, type JWTPayload } from "jose";
import type { Clock } from "../clock";
import { signCompact } from "./jws";
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

/** What a service client's token (client credentials, RFC 9068) says: `sub` = `client_id`, and its `scope`. */
export interface ClientClaims {
  clientId: string;
  scopes: string[];
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

export interface TokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/**
 * A client's token carries `client_id`; a user's never does (it carries `sid`, which a client's
 * never does, and each verifier refuses the other's shape). Read before verification only to pick
 * the verifier, which then checks everything.
 */
export function isClientToken(token: string): boolean {
  try {
    return typeof decodeJwt(token).client_id === "string";
  } catch {
    return false;
  }
}

/** Strings of a claim's array, frozen: remembered claims are shared by every request that presents the token. */
const strings = (values: unknown[]) => Object.freeze(values.filter((v): v is string => typeof v === "string")) as string[];

/**
 * The access tokens of this service, users' and service clients' alike: JWTs signed with the current
 * key (header kid, typ at+jwt), carrying sub, iss, aud, iat, exp, jti and the kind's own claims.
 * Verification pins the key's algorithm, issuer, audience, type and the presence of exp; the key
 * comes from the local map by kid only (jku, x5u and jwk headers are never read), so an unknown
 * kid fails. `claimsOf` refuses a payload of the other kind.
 */
abstract class SignedTokens<C> {
  private readonly verified = new Map<string, { claims: C; kid: string; expiresAtMs: number }>();

  constructor(
    private readonly keys: KeyStore,
    private readonly options: TokenOptions,
    private readonly clock: Clock,
  ) {}

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /** The kind's claims of a verified payload; InvalidTokenError when they are missing or of the other kind. */
  protected abstract claimsOf(payload: JWTPayload): C;

  protected async sign(subject: string, claims: JWTPayload): Promise<string> {
    const { kid, alg, key } = this.keys.signingKey();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const { issuer: iss, audience: aud, ttlSeconds } = this.options;
    return signCompact({ alg, kid, typ: ACCESS_TOKEN_TYPE }, { ...claims, sub: subject, iss, aud, iat: now, exp: now + ttlSeconds, jti: randomUUID() }, key);
  }

  /**
   * Verifies a token, or finds it among the tokens verified before: a signature check is most of
   * an authenticated request's cost, and a client sends the same token for up to its lifetime. A
   * cached token is taken only while it has not expired and its key is still in the local set (a
   * key withdrawn in an emergency, which every instance hears of by NOTIFY, ends its tokens at
   * once); the cache holds at most `VERIFIED_CACHE_SIZE` tokens, the least recently verified going
   * first. Whether its session has ended (or its client was disabled) is not cached: the caller asks that on every request.
   */
  async verify(token: string): Promise<C> {
    const nowMs = this.clock.now().getTime();
    const hit = this.verified.get(token);
    if (hit && hit.expiresAtMs > nowMs && this.keys.verificationKey(hit.kid)) return hit.claims;
    if (hit) this.verified.delete(token);
    const { claims, kid, expiresAtMs } = await this.verifySignature(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { claims, kid, expiresAtMs });
    return claims;
  }

  private async verifySignature(token: string): Promise<{ claims: C; kid: string; expiresAtMs: number }> {
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
    return { claims: this.claimsOf(payload), kid, expiresAtMs: (payload.exp as number) * 1000 };
  }
}

/** Users' access tokens: sub (the user), sid, roles, amr, auth_time. */
export class AccessTokens extends SignedTokens<AccessClaims> {
  issue(claims: AccessClaims): Promise<string> {
    return this.sign(claims.userId, { sid: claims.sessionId, roles: claims.roles, amr: claims.amr, auth_time: claims.authTime });
  }

  protected claimsOf(payload: JWTPayload): AccessClaims {
    const { sub, sid, roles, amr = ["pwd"], auth_time: authTime = payload.iat } = payload as JWTPayload & { sid?: unknown; roles?: unknown; amr?: unknown; auth_time?: unknown };
    if (typeof sub !== "string" || typeof sid !== "string" || !Array.isArray(roles) || !Array.isArray(amr) || typeof authTime !== "number") throw new InvalidTokenError("missing claims");
    if (payload.client_id !== undefined) throw new InvalidTokenError("a service client's token");
    // (Tokens issued before `amr` and `auth_time` were claims are a password login's, at `iat`.)
    return Object.freeze({ userId: sub, sessionId: sid, roles: strings(roles), amr: strings(amr), authTime });
  }
}

/** Service clients' tokens (RFC 9068): sub = client_id = the client id, scope (space-separated); never sid. */
export class ClientTokens extends SignedTokens<ClientClaims> {
  issue(claims: ClientClaims): Promise<string> {
    return this.sign(claims.clientId, { client_id: claims.clientId, scope: claims.scopes.join(" ") });
  }

  protected claimsOf(payload: JWTPayload): ClientClaims {
    const { sub, client_id: clientId, scope } = payload as JWTPayload & { client_id?: unknown; scope?: unknown };
    if (typeof sub !== "string" || clientId !== sub || typeof scope !== "string") throw new InvalidTokenError("missing claims");
    if (payload.sid !== undefined) throw new InvalidTokenError("a user's token");
    return Object.freeze({ clientId: sub, scopes: strings(scope.split(" ").filter(Boolean)) });
  }
}
