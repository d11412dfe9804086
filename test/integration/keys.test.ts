import { decodeProtectedHeader } from "jose";
import { open, seal } from "../../src/platform/crypto/aead";
import { AccessTokens } from "../../src/platform/jwt/access-tokens";
import { KeyStore } from "../../src/platform/jwt/keys";
import { startTestApp } from "../support/app";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase, withClient } from "../support/db";
import { REDIS_URL, uniqueSuffix } from "../support/env";

const KEY = Buffer.alloc(32, 3);
const clock = { now: () => new Date() };

describe("signing keys", () => {
  it("SECURITY 58: after rotation new tokens use the new kid, tokens of the old kid stay valid, both are published", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false" });
    try {
      const prisma = t.app.platform.database.prisma;
      const keys = new KeyStore(prisma, t.app.config.KEY_ENCRYPTION_KEY, "ES256", 900_000, clock);
      await keys.init();
      const tokens = new AccessTokens(keys, { issuer: "https://id.example.test", audience: "identity-platform", ttlSeconds: 900 }, clock);
      const before = await tokens.issue({ userId: "u1", sessionId: "s1", roles: [] });
      const kid = await keys.rotate();
      const after = await tokens.issue({ userId: "u1", sessionId: "s1", roles: [] });
      expect(decodeProtectedHeader(after).kid).toBe(kid);
      expect(decodeProtectedHeader(before).kid).not.toBe(kid);
      await expect(tokens.verify(before)).resolves.toMatchObject({ userId: "u1" });
      expect(keys.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, decodeProtectedHeader(before).kid]));
      // Private halves are stored sealed, never as a JWK with "d" in the clear.
      const rows = await withClient(t.databaseUrl, (c) => c.query<{ private_key_enc: string }>("SELECT private_key_enc FROM signing_keys"));
      for (const row of rows.rows) expect(row.private_key_enc).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      // Without the master key a database dump does not open the private keys.
      await expect(new KeyStore(prisma, KEY, "ES256", 900_000, clock).init()).rejects.toThrow("Unsupported state or unable to authenticate data");
    } finally {
      await t.stop();
    }
  });
});

describe("AES-256-GCM", () => {
  it("SECURITY 55: a fresh IV per message; a flipped bit, a truncated tag or another AAD fails closed", () => {
    const a = seal(KEY, "secret", "row-1");
    const b = seal(KEY, "secret", "row-1");
    expect(a.split(".")[1]).not.toBe(b.split(".")[1]);
    expect(open(KEY, a, "row-1")).toBe("secret");
    const [v, iv, body, tag] = a.split(".") as [string, string, string, string];
    const flipped = Buffer.from(body, "base64url");
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(() => open(KEY, [v, iv, flipped.toString("base64url"), tag].join("."), "row-1")).toThrow();
    expect(() => open(KEY, [v, iv, body, Buffer.from(tag, "base64url").subarray(0, 12).toString("base64url")].join("."), "row-1")).toThrow("truncated tag");
    expect(() => open(KEY, a, "row-2")).toThrow();
  });

  it("signs with RS256 or EdDSA when configured, publishes the matching JWK, and pins each key's own algorithm", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", JWT_ALGORITHM: "RS256" });
    try {
      const prisma = t.app.platform.database.prisma;
      const options = { issuer: "https://id.example.test", audience: "identity-platform", ttlSeconds: 900 };
      const rsa = new KeyStore(prisma, t.app.config.KEY_ENCRYPTION_KEY, "RS256", 900_000, clock);
      await rsa.init();
      const rsaToken = await new AccessTokens(rsa, options, clock).issue({ userId: "u1", sessionId: "s1", roles: [] });
      expect(decodeProtectedHeader(rsaToken)).toMatchObject({ alg: "RS256", typ: "at+jwt" });
      const ed = new KeyStore(prisma, t.app.config.KEY_ENCRYPTION_KEY, "EdDSA", 900_000, clock);
      await ed.init();
      await ed.rotate();
      const edTokens = new AccessTokens(ed, options, clock);
      const edToken = await edTokens.issue({ userId: "u2", sessionId: "s2", roles: [] });
      expect(decodeProtectedHeader(edToken)).toMatchObject({ alg: "EdDSA" });
      await expect(edTokens.verify(edToken)).resolves.toMatchObject({ userId: "u2" });
      // The RSA token signed before the rotation still verifies, by its kid and that key's algorithm.
      await expect(edTokens.verify(rsaToken)).resolves.toMatchObject({ userId: "u1" });
      expect(ed.jwks().keys.map((k) => [k.kty, k.alg ?? null, k.crv ?? null]).sort()).toEqual([
        ["OKP", "EdDSA", "Ed25519"],
        ["RSA", "RS256", null],
      ]);
      // A token whose header names another algorithm than its key's is refused.
      const [, payload, signature] = rsaToken.split(".") as [string, string, string];
      const header = Buffer.from(JSON.stringify({ ...decodeProtectedHeader(rsaToken), alg: "PS256" })).toString("base64url");
      await expect(edTokens.verify(`${header}.${payload}.${signature}`)).rejects.toThrow();
    } finally {
      await t.stop();
    }
  });

  it("a start that fails midway (signing keys sealed under another master key) closes what it opened", async () => {
    const t = await startTestApp({ OUTBOX_RELAY: "false", KEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64") });
    const databaseUrl = t.databaseUrl;
    await t.app.stop();
    try {
      const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", REDIS_URL, DATABASE_URL: databaseUrl, KEY_ENCRYPTION_KEY: Buffer.alloc(32, 2).toString("base64") });
      await expect(createApp(config, { logger: createLogger({ level: "silent" }), redisPrefix: `test:${uniqueSuffix()}:` })).rejects.toThrow("Unsupported state or unable to authenticate data");
      const open = await withClient(databaseUrl, async (c) => (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows[0]?.n);
      expect(open).toBe(0);
    } finally {
      await dropDatabase(databaseUrl);
    }
  });
});
