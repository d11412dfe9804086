import { randomBytes } from "node:crypto";
import { KMSClient } from "@aws-sdk/client-kms";
import { open as aeadOpen, seal as aeadSeal } from "../../src/platform/crypto/aead";
import { createKeyVault } from "../../src/platform/crypto/create-vault";
import { AwsKmsKekProvider } from "../../src/platform/crypto/kek-aws";
import { LocalKekProvider, type LocalKey } from "../../src/platform/crypto/kek-local";
import { VaultTransitKekProvider } from "../../src/platform/crypto/kek-vault";
import { rewrapAll, type SealedRow, type SealedRows } from "../../src/platform/crypto/rewrap";
import { KeyVault, LEGACY_KEK_ID, legacySigningKeysKey, type Binding, type KekProvider, type SealedRecord } from "../../src/platform/crypto/vault";
import { KeyStore, signingKeyRows } from "../../src/platform/jwt/keys";
import { systemClock } from "../../src/platform/clock";
import { loadConfig } from "../../src/config";
import { startTestApp, type TestApp } from "../support/app";
import { withClient } from "../support/db";
import { startFakeKms, startFakeVault } from "../support/kms-fakes";
import { runCliTool } from "../support/process";
import { waitUntil } from "../support/wait";

const SECRET = "the-test-secret-7f3a9c";
const alice: Binding = { owner: "user-alice", purpose: "totp-seed" };
const localKey = (name: string): LocalKey => ({ name, key: randomBytes(32) });
const BASE = localKey("KEY_ENCRYPTION_KEY");

/** Sealed values in memory, for rewrapAll. */
function memoryRows(rows: SealedRow[]): SealedRows {
  return {
    name: "memory",
    page: async (after, limit) => rows.filter((r) => after === null || r.id > after).slice(0, limit),
    replace: async (id, previous, next) => {
      const row = rows.find((r) => r.id === id && r.record === previous);
      if (row) row.record = next;
      return Boolean(row);
    },
  };
}

interface Harness {
  provider: KekProvider;
  /** Rotates the KEK; returns the provider new records then use (old records still open under it). */
  rotate(): KekProvider;
  /** After the rotation, with the KEK before it taken away (the Vault fake keeps old versions, as Vault does until min_decryption_version moves). */
  withoutOld(): KekProvider;
  /** What the fake server saw: every context sent. */
  contexts(): [string, unknown][];
  close(): Promise<void>;
}

const harnesses: [string, () => Promise<Harness>][] = [
  [
    "local",
    async () => {
      const first = localKey("2026-01");
      const second = localKey("2026-07");
      return {
        provider: new LocalKekProvider([first], BASE),
        rotate: () => new LocalKekProvider([second, first], BASE),
        withoutOld: () => new LocalKekProvider([second], BASE),
        contexts: () => [],
        close: async () => undefined,
      };
    },
  ],
  [
    "aws",
    async () => {
      const kms = await startFakeKms();
      const old = kms.createKey("alias/identity");
      const client = new KMSClient({ endpoint: kms.url, region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" }, maxAttempts: 1 });
      const provider = new AwsKmsKekProvider(client, "alias/identity");
      return {
        provider,
        rotate: () => (kms.createKey("alias/identity"), provider),
        withoutOld: () => (kms.deleteKey(old), provider),
        contexts: () => kms.calls.map((c): [string, unknown] => [c.target, c.request.EncryptionContext]),
        close: async () => {
          client.destroy();
          await kms.close();
        },
      };
    },
  ],
  [
    "vault",
    async () => {
      const vault = await startFakeVault("s.test-token");
      vault.createKey("identity");
      const provider = new VaultTransitKekProvider(vault.url, "s.test-token", "identity");
      return { provider, rotate: () => (vault.rotate("identity"), provider), withoutOld: () => provider, contexts: () => vault.calls.map((c): [string, unknown] => [c.path, c.request.context]), close: () => vault.close() };
    },
  ],
];

describe.each(harnesses)("key vault with the %s provider", (name, start) => {
  let h: Harness;
  beforeEach(async () => {
    h = await start();
  });
  afterEach(() => h.close());

  it(`SECURITY 55, 56: ${name}: each record gets a fresh data key and nonce, stores its KEK id, shows no plaintext and opens`, async () => {
    const vault = new KeyVault([h.provider]);
    const a = await vault.seal(SECRET, alice);
    const b = await vault.seal(SECRET, alice);
    expect(a.kekId).toMatch(new RegExp(`^${{ local: "local:2026-01", aws: "aws-kms:arn:aws:kms:", vault: "vault-transit:identity:v1" }[name]}`));
    expect(a.ciphertext).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/); // 96-bit nonce, 16-byte tag
    expect(a.ciphertext.split(".")[1]).not.toBe(b.ciphertext.split(".")[1]);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(JSON.stringify([a, b])).not.toContain(SECRET);
    expect(JSON.stringify([a, b])).not.toContain(Buffer.from(SECRET).toString("base64"));
    await expect(vault.open(a, alice)).resolves.toBe(SECRET);
    if (name !== "local") expect(h.contexts().length).toBeGreaterThan(0);
    // Every call to the KMS carried the binding as its context.
    for (const [, context] of h.contexts()) expect(context).toEqual(name === "aws" ? { owner: "user-alice", purpose: "totp-seed" } : Buffer.from("totp-seed:user-alice").toString("base64"));
  });

  it(`SECURITY 57: ${name}: a record moved to another owner or purpose opens at neither layer (data key nor value)`, async () => {
    const vault = new KeyVault([h.provider]);
    const record = await vault.seal(SECRET, alice);
    for (const other of [{ ...alice, owner: "user-mallory" }, { ...alice, purpose: "recovery-code" }]) {
      await expect(vault.open(record, other)).rejects.toThrow();
      await expect(h.provider.unwrap(record.wrappedKey, record.kekId, other)).rejects.toThrow();
    }
    // A flipped bit fails closed.
    const [v, iv, body, tag] = record.ciphertext.split(".") as [string, string, string, string];
    const flipped = Buffer.from(body, "base64url");
    flipped[0] = (flipped[0] as number) ^ 1;
    await expect(vault.open({ ...record, ciphertext: [v, iv, flipped.toString("base64url"), tag].join(".") }, alice)).rejects.toThrow();
  });

  it(`SECURITY 56: ${name}: after a KEK rotation new records use the new key, old ones still open, and a rewrap moves every record to the new key`, async () => {
    const before = new KeyVault([h.provider]);
    const rows: SealedRow[] = [];
    for (let i = 0; i < 5; i += 1) rows.push({ id: `row-${i}`, binding: { owner: `user-${i}`, purpose: "totp-seed" }, record: await before.seal(`${SECRET}-${i}`, { owner: `user-${i}`, purpose: "totp-seed" }) });
    const oldKek = rows[0]?.record.kekId as string;
    const after = new KeyVault([h.rotate()]);
    const current = await after.currentKekId();
    expect(current).not.toBe(oldKek);
    expect((await after.seal(SECRET, alice)).kekId).toBe(current);
    for (const row of rows) await expect(after.open(row.record, row.binding)).resolves.toMatch(SECRET);
    expect(await rewrapAll(after, [memoryRows(rows)], 2, (kekId) => kekId !== current)).toBe(5);
    expect(rows.map((r) => r.record.kekId)).toEqual(Array(5).fill(current));
    const survivor = new KeyVault([h.withoutOld()]);
    for (const [i, row] of rows.entries()) await expect(survivor.open(row.record, row.binding)).resolves.toBe(`${SECRET}-${i}`);
    expect(await rewrapAll(after, [memoryRows(rows)], 2, (kekId) => kekId !== current)).toBe(0);
  });
});

const kmsKey = (name: string, key: Buffer) => `${name}:${key.toString("base64")}`;
const signingRows = (url: string) =>
  withClient(url, async (c) => (await c.query<{ kid: string; private_key_enc: string; wrapped_key: string; kek_id: string }>("SELECT kid, private_key_enc, wrapped_key, kek_id FROM signing_keys ORDER BY kid")).rows);
const recordOf = (row: { private_key_enc: string; wrapped_key: string; kek_id: string }): SealedRecord => ({ ciphertext: row.private_key_enc, wrappedKey: row.wrapped_key, kekId: row.kek_id });
const signingKey = (kid: string): Binding => ({ owner: kid, purpose: "signing-key" });
const jwks = async (baseUrl: string) => ((await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();

describe("the key vault over the database", () => {
  it("SECURITY 56: a database dump alone opens no sealed signing key: no plaintext in the rows, and without the KEK neither the data key nor the value opens", async () => {
    const kek = randomBytes(32);
    const t = await startTestApp({ OUTBOX_RELAY: "false", KMS_MASTER_KEY: kmsKey("prod-1", kek) });
    try {
      const rows = await signingRows(t.databaseUrl);
      const dump = await withClient(t.databaseUrl, async (c) => JSON.stringify((await c.query("SELECT row_to_json(s) AS r FROM signing_keys s")).rows));
      const [row] = rows as [(typeof rows)[0]];
      expect(row.kek_id).toBe("local:prod-1");
      const jwk = JSON.parse(await createKeyVault(t.app.config).open(recordOf(row), signingKey(row.kid))) as { d: string };
      expect(dump).not.toContain(jwk.d);
      expect(dump).not.toContain(Buffer.from(jwk.d, "base64url").toString("base64"));
      expect(dump).not.toContain(Buffer.from(jwk.d, "base64url").toString("hex"));
      // Without KMS_MASTER_KEY (the dump and the development key), or with another key of the same name: nothing opens.
      await expect(createKeyVault(loadConfig({})).open(recordOf(row), signingKey(row.kid))).rejects.toThrow("no configured key-encryption key local:prod-1");
      await expect(createKeyVault(loadConfig({ KMS_MASTER_KEY: kmsKey("prod-1", randomBytes(32)) })).open(recordOf(row), signingKey(row.kid))).rejects.toThrow("Unsupported state or unable to authenticate data");
      // The wrapped data key is no key by itself.
      expect(() => aeadOpen(Buffer.from(row.wrapped_key).subarray(0, 32), row.private_key_enc, `signing-key:${row.kid}`)).toThrow();
    } finally {
      await t.stop();
    }
  });

  it("SECURITY 56: after a KEK rotation (new key first, old kept) old signing keys open and new ones use the new KEK; keys:rewrap in batches moves every one, while the service runs, and then the old KEK can go", async () => {
    const [oldKek, newKek] = [randomBytes(32), randomBytes(32)];
    const rotated = `${kmsKey("2027-01", newKek)},${kmsKey("2026-01", oldKek)}`;
    const a = await startTestApp({ OUTBOX_RELAY: "false", KMS_MASTER_KEY: kmsKey("2026-01", oldKek) });
    // The rolling deploy: an instance with the rotated ring opens the old key; a rotation there seals under the new KEK.
    const b = await startTestApp({ OUTBOX_RELAY: "false", DATABASE_URL: a.databaseUrl, KMS_MASTER_KEY: rotated });
    try {
      const store = (t: TestApp) => new KeyStore(t.app.platform.database.prisma, createKeyVault(t.app.config), "ES256", 900_000, systemClock, 60_000);
      await store(a).rotate();
      await store(a).rotate();
      await store(b).rotate();
      expect((await signingRows(a.databaseUrl)).map((r) => r.kek_id).sort()).toEqual(["local:2026-01", "local:2026-01", "local:2026-01", "local:2027-01"]);
      // b learns of the rotations by NOTIFY: a loaded machine may deliver it a moment later.
      const published = await waitUntil("b to publish the four keys", async () => {
        const kids = await jwks(b.baseUrl);
        return kids.length === 4 ? kids : null;
      });
      expect(published).toHaveLength(4);
      expect(await runCliTool("keys-rewrap", b.databaseUrl, ["--batch-size", "2"], { KMS_MASTER_KEY: rotated })).toBe("re-wrapped 3 sealed values under local:2027-01\n");
      expect(await jwks(b.baseUrl)).toEqual(published);
      // Every sealed value opens with the new KEK alone.
      const onlyNew = createKeyVault(loadConfig({ KMS_MASTER_KEY: kmsKey("2027-01", newKek) }));
      for (const row of await signingRows(b.databaseUrl)) {
        expect(row.kek_id).toBe("local:2027-01");
        await expect(onlyNew.open(recordOf(row), signingKey(row.kid))).resolves.toMatch(/"d":/);
      }
      const c = await startTestApp({ OUTBOX_RELAY: "false", DATABASE_URL: a.databaseUrl, KMS_MASTER_KEY: kmsKey("2027-01", newKek) });
      expect(await jwks(c.baseUrl)).toEqual(published);
      await c.app.stop();
      expect(await runCliTool("keys-rewrap", b.databaseUrl, [], { KMS_MASTER_KEY: rotated })).toBe("re-wrapped 0 sealed values under local:2027-01\n");
    } finally {
      await b.app.stop();
      await a.stop();
    }
  }, 60_000);

  it("JWT signing keys sealed under KEY_ENCRYPTION_KEY before the vault (marked legacy by the migration) open and are re-sealed under the vault at start", async () => {
    const env = { OUTBOX_RELAY: "false", KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") };
    const a = await startTestApp(env);
    try {
      const [row] = (await signingRows(a.databaseUrl)) as [{ kid: string; private_key_enc: string; wrapped_key: string; kek_id: string }];
      const jwk = await createKeyVault(a.app.config).open(recordOf(row), signingKey(row.kid));
      // The row as the previous release sealed it, and as the migration left it.
      const legacy = aeadSeal(legacySigningKeysKey(a.app.config.KEY_ENCRYPTION_KEY), jwk, `signing-key:${row.kid}`);
      await withClient(a.databaseUrl, (c) => c.query("UPDATE signing_keys SET private_key_enc = $1, wrapped_key = '', kek_id = $2", [legacy, LEGACY_KEK_ID]));
      await expect(createKeyVault(a.app.config).open({ ciphertext: legacy, wrappedKey: "", kekId: LEGACY_KEK_ID }, signingKey(row.kid))).resolves.toBe(jwk);
      const b = await startTestApp({ ...env, DATABASE_URL: a.databaseUrl });
      await b.app.stop();
      const [resealed] = (await signingRows(a.databaseUrl)) as [typeof row];
      expect(resealed.kek_id).toBe("local:KEY_ENCRYPTION_KEY");
      expect(resealed.private_key_enc).not.toBe(legacy);
      await expect(createKeyVault(a.app.config).open(recordOf(resealed), signingKey(row.kid))).resolves.toBe(jwk);
      expect(await rewrapAll(createKeyVault(a.app.config), [signingKeyRows(a.app.platform.database.prisma)], 10, (kekId) => kekId === LEGACY_KEK_ID)).toBe(0);
    } finally {
      await a.stop();
    }
  });
});
