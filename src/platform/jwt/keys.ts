import { hkdfSync, randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type { Clock } from "../clock";
import { open, seal } from "../crypto/aead";
import type { Prisma } from "../db/database";

export type JwtAlgorithm = "ES256" | "RS256" | "EdDSA";

/** Serialises key creation across instances starting at once. */
const KEY_LOCK = 72707371;

interface LoadedKey {
  kid: string;
  alg: JwtAlgorithm;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey | null;
  retiredAt: Date | null;
}

/**
 * The signing keys: created on first start, private halves sealed with KEY_ENCRYPTION_KEY (the kid
 * is the associated data, so a sealed key copied to another row does not open). The newest key
 * signs; retired keys verify and stay published until the tokens they signed have expired. `kid`
 * is only ever a key into this local map.
 */
export class KeyStore {
  private keys = new Map<string, LoadedKey>();
  private current: LoadedKey | null = null;
  /** AES-256 needs exactly 32 bytes: derived from the configured key (32 or more bytes) with HKDF. */
  private readonly encryptionKey: Buffer;

  constructor(
    private readonly prisma: Prisma,
    configuredKey: Buffer,
    private readonly algorithm: JwtAlgorithm,
    private readonly tokenTtlMs: number,
    private readonly clock: Clock,
  ) {
    this.encryptionKey = Buffer.from(hkdfSync("sha256", configuredKey, Buffer.alloc(0), "identity-subgraph signing keys", 32));
  }

  /** Loads the keys, creating the first one when there is none. */
  async init(): Promise<void> {
    if ((await this.prisma.signingKey.count()) === 0) await this.rotate(true);
    await this.reload();
  }

  /** Makes a new key current; the previous one is retired (still verifies). */
  async rotate(onlyIfNone = false): Promise<string> {
    const kid = randomUUID();
    const { publicKey, privateKey } = await generateKeyPair(this.algorithm, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.algorithm, use: "sig" };
    const sealed = seal(this.encryptionKey, JSON.stringify(await exportJWK(privateKey)), `signing-key:${kid}`);
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_LOCK})`;
      if (onlyIfNone && (await tx.signingKey.count()) > 0) return;
      await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: this.clock.now() } });
      await tx.signingKey.create({ data: { kid, alg: this.algorithm, publicJwk, privateKeyEnc: sealed } });
    });
    await this.reload();
    return kid;
  }

  async reload(): Promise<void> {
    const horizon = new Date(this.clock.now().getTime() - this.tokenTtlMs);
    const rows = await this.prisma.signingKey.findMany({ where: { OR: [{ retiredAt: null }, { retiredAt: { gt: horizon } }] }, orderBy: { createdAt: "desc" } });
    const keys = new Map<string, LoadedKey>();
    let current: LoadedKey | null = null;
    for (const row of rows) {
      const alg = row.alg as JwtAlgorithm;
      const publicJwk = row.publicJwk as JWK;
      const loaded: LoadedKey = {
        kid: row.kid,
        alg,
        publicJwk,
        publicKey: (await importJWK(publicJwk, alg)) as CryptoKey,
        privateKey: row.retiredAt ? null : ((await importJWK(JSON.parse(open(this.encryptionKey, row.privateKeyEnc, `signing-key:${row.kid}`)) as JWK, alg)) as CryptoKey),
        retiredAt: row.retiredAt,
      };
      keys.set(row.kid, loaded);
      if (!row.retiredAt && !current) current = loaded;
    }
    if (!current) throw new Error("no current signing key");
    this.keys = keys;
    this.current = current;
  }

  signingKey(): { kid: string; alg: JwtAlgorithm; key: CryptoKey } {
    const current = this.current;
    if (!current?.privateKey) throw new Error("KeyStore not initialised");
    return { kid: current.kid, alg: current.alg, key: current.privateKey };
  }

  /** The public key of a `kid`, from the local map only; undefined for anything unknown. */
  verificationKey(kid: unknown): LoadedKey | undefined {
    return typeof kid === "string" ? this.keys.get(kid) : undefined;
  }

  /** The JWKS document: current and still-valid previous public keys. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }
}
