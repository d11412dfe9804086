import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { CompactEncrypt, SignJWT, generateKeyPair, jwtVerify, type CryptoKey } from "jose";
import { AccessTokens, ClientTokens, InvalidTokenError, isClientToken } from "../../src/platform/jwt/access-tokens";
import type { KeyStore } from "../../src/platform/jwt/keys";

const ISSUER = "https://id.example.test";
const AUDIENCE = "identity-platform";
const start = new Date("2026-11-22T12:00:00Z");
const t = Math.floor(start.getTime() / 1000);

/** Tokens signed with the service's own key (so only the claims or headers are wrong). */
async function setup() {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const published = new Map<string, { kid: string; alg: "ES256"; publicKey: CryptoKey }>([["k1", { kid: "k1", alg: "ES256", publicKey }]]);
  const keys = {
    signingKey: () => ({ kid: "k1", alg: "ES256" as const, key: privateKey }),
    verificationKey: (kid: unknown) => published.get(kid as string),
  } as unknown as KeyStore;
  const clock = { now: () => start };
  const tokens = new AccessTokens(keys, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 900 }, clock);
  const clientTokens = new ClientTokens(keys, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 300 }, clock);
  const sign = (edit: { header?: Record<string, unknown>; claims?: Record<string, unknown>; key?: CryptoKey } = {}) =>
    new SignJWT({ sid: randomUUID(), roles: ["USER"], sub: randomUUID(), iss: ISSUER, aud: AUDIENCE, iat: t, exp: t + 900, jti: randomUUID(), ...edit.claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1", typ: "at+jwt", ...edit.header } as never)
      .sign(edit.key ?? privateKey);
  return { tokens, clientTokens, sign, published, clock };
}

describe("access token verification", () => {
  it("accepts its own token", async () => {
    const { tokens, sign } = await setup();
    await expect(tokens.verify(await sign())).resolves.toMatchObject({ roles: ["USER"] });
    const issued = await tokens.issue({ userId: "u1", sessionId: "s1", roles: ["USER"], amr: ["pwd", "otp"], authTime: 1_700_000_000 });
    await expect(tokens.verify(issued)).resolves.toEqual({ userId: "u1", sessionId: "s1", roles: ["USER"], amr: ["pwd", "otp"], authTime: 1_700_000_000 });
    // A token issued before amr and auth_time were claims: a password login's, authenticated at iat.
    const older = await tokens.verify(await sign());
    expect([older.amr, older.authTime]).toEqual([["pwd"], t]);
  });

  it("SECURITY 12 and 14: pins issuer, audience, type, expiry and not-before, with the right signature", async () => {
    const { tokens, sign } = await setup();
    const other = await generateKeyPair("ES256");
    const cases: Record<string, Promise<string>> = {
      "wrong iss": sign({ claims: { iss: "https://evil.test" } }),
      "wrong aud": sign({ claims: { aud: "other-service" } }),
      "typ JWT (not an access token)": sign({ header: { typ: "JWT" } }),
      "typ of an MFA-pending token": sign({ header: { typ: "mfa+jwt" } }),
      expired: sign({ claims: { iat: t - 1000, exp: t - 10 } }),
      "not yet valid (nbf in the future)": sign({ claims: { nbf: t + 600 } }),
      "no exp": sign({ claims: { exp: undefined } }),
      "another key under our kid": sign({ key: other.privateKey }),
      "unknown kid": sign({ header: { kid: "k2" } }),
    };
    for (const [name, token] of Object.entries(cases)) {
      await expect(tokens.verify(await token).then(() => `${name}: accepted`)).rejects.toBeInstanceOf(InvalidTokenError);
    }
  });

  it("remembers a verified token until it expires or its key is withdrawn", async () => {
    const { tokens, sign, published, clock } = await setup();
    const token = await sign();
    const claims = await tokens.verify(token);
    // Remembered: the same token verifies without a signature check (here, against a replaced key).
    const original = published.get("k1");
    published.set("k1", { kid: "k1", alg: "ES256", publicKey: (await generateKeyPair("ES256")).publicKey });
    await expect(tokens.verify(token)).resolves.toEqual(claims);
    // A token never seen before is checked against the key in place, and fails.
    await expect(tokens.verify(await sign())).rejects.toBeInstanceOf(InvalidTokenError);
    published.set("k1", original as never);
    // Its key withdrawn: refused at once, remembered or not.
    published.delete("k1");
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
    published.set("k1", original as never);
    await expect(tokens.verify(token)).resolves.toEqual(claims);
    // Expired: refused, though remembered.
    clock.now = () => new Date(start.getTime() + 900_000);
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("a service client's token (client_id, scope, no sid) and a user's are told apart, and neither verifies as the other", async () => {
    const { tokens, clientTokens, sign } = await setup();
    const issued = await clientTokens.issue({ clientId: "svc_1", scopes: ["authz:check", "reports:read"] });
    await expect(clientTokens.verify(issued)).resolves.toEqual({ clientId: "svc_1", scopes: ["authz:check", "reports:read"] });
    const user = await tokens.issue({ userId: "u1", sessionId: "s1", roles: ["USER"], amr: ["pwd"], authTime: t });
    expect([isClientToken(issued), isClientToken(user), isClientToken("garbage")]).toEqual([true, false, false]);
    await expect(tokens.verify(issued)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(clientTokens.verify(user)).rejects.toBeInstanceOf(InvalidTokenError);
    // A user's token that also claims a client_id, and a client's that also claims a session: both refused.
    await expect(tokens.verify(await sign({ claims: { client_id: "svc_1" } }))).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(clientTokens.verify(await sign({ claims: { sub: "svc_1", client_id: "svc_1", scope: "authz:check" } }))).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(clientTokens.verify(await sign({ claims: { sub: "svc_2", client_id: "svc_1", scope: "authz:check", sid: undefined } }))).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("issues with each configured algorithm (ES256, RS256, EdDSA) a compact JWS that jose verifies with the public key, and no other key", async () => {
    for (const alg of ["ES256", "RS256", "EdDSA"] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const other = await generateKeyPair(alg);
      const keys = { signingKey: () => ({ kid: "k9", alg, key: privateKey }) } as unknown as KeyStore;
      const token = await new AccessTokens(keys, { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 900 }, { now: () => start }).issue({ userId: "u1", sessionId: "s1", roles: ["USER"], amr: ["pwd"], authTime: t });
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: AUDIENCE, typ: "at+jwt", currentDate: start });
      expect([alg, protectedHeader]).toEqual([alg, { alg, kid: "k9", typ: "at+jwt" }]);
      expect(payload).toEqual({ sid: "s1", roles: ["USER"], amr: ["pwd"], auth_time: t, sub: "u1", iss: ISSUER, aud: AUDIENCE, iat: t, exp: t + 900, jti: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      await expect(jwtVerify(token, other.publicKey)).rejects.toThrow(/signature verification failed/);
    }
  });

  it("SECURITY 15: refuses a JWE (an encrypted token is never accepted as a bearer)", async () => {
    const { tokens } = await setup();
    const payload = new TextEncoder().encode(JSON.stringify({ sub: "u1", sid: "s1", roles: ["ADMIN"], iss: ISSUER, aud: AUDIENCE, exp: t + 900 }));
    const jwe = await new CompactEncrypt(payload).setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: "k1", typ: "at+jwt" }).encrypt(randomBytes(32));
    expect(jwe.split(".")).toHaveLength(5);
    await expect(tokens.verify(jwe)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("SECURITY 15: jose is at or above the patched floor (4.9.2, CVE-2024-28176 fixed in 4.15.5) and jsonwebtoken is not installed", () => {
    const version = (JSON.parse(readFileSync(require.resolve("jose").replace(/dist\/.*$/, "package.json"), "utf8")) as { version: string }).version;
    const [major = 0, minor = 0, patch = 0] = version.split(".").map(Number);
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(4_015_005);
    expect(() => require.resolve("jsonwebtoken")).toThrow();
  });
});
