import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type pg from "pg";
import { BackgroundLoop } from "../background-loop";
import type { Clock } from "../clock";
import { rewrapAll, sealedColumns, type SealedRows } from "../crypto/rewrap";
import { LEGACY_KEK_ID, type Binding, type KeyVault, type SealedRecord } from "../crypto/vault";
import type { Prisma, Tx } from "../db/database";
import { listen } from "../db/listen";
import type { Logger } from "../logging/logger";

export type JwtAlgorithm = "ES256" | "RS256" | "EdDSA";

/** How long a retired key must go on verifying: the longest-lived tokens the keys sign (users' or service clients'). */
export function longestTokenTtlMs(config: { ACCESS_TOKEN_TTL_S: number; CLIENT_TOKEN_TTL_S: number }): number {
  return Math.max(config.ACCESS_TOKEN_TTL_S, config.CLIENT_TOKEN_TTL_S) * 1000;
}

/** Serialises key changes across instances starting at once and the command line. */
const KEY_LOCK = 72707371;
/** Every change of the keys NOTIFYs this channel when it commits; running instances reload on it. */
const KEYS_CHANNEL = "identity_signing_keys";

interface LoadedKey {
  kid: string;
  alg: JwtAlgorithm;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey | null;
  retiredAt: Date | null;
}

/**
 * The signing keys: created on first start, private halves sealed under the key vault (bound to
 * their kid, so a sealed key copied to another row does not open). The newest key
 * signs; retired keys verify and stay published until the tokens they signed have expired: an
 * instance may go on signing with a key for up to one reload interval after its retirement (when
 * it missed the NOTIFY), so that is `tokenTtlMs + reloadIntervalMs` after it. A withdrawn key is
 * gone from the database and, once each instance has reloaded, from every local set. `kid` is only
 * ever a key into this local map.
 */
export class KeyStore {
  private keys = new Map<string, LoadedKey>();
  private current: LoadedKey | null = null;

  constructor(
    private readonly prisma: Prisma,
    private readonly vault: KeyVault,
    private readonly algorithm: JwtAlgorithm,
    private readonly tokenTtlMs: number,
    private readonly clock: Clock,
    /** How often a running instance reloads without being told to (see `watch`). */
    private readonly reloadIntervalMs: number,
  ) {}

  /**
   * Loads the keys, creating the first one when there is none; keys sealed before the vault
   * (KEY_ENCRYPTION_KEY alone, marked by their migration) are re-sealed under it first.
   */
  async init(): Promise<void> {
    if ((await this.prisma.signingKey.count()) === 0) await this.rotate(true);
    await rewrapAll(this.vault, [signingKeyRows(this.prisma)], 100, (kekId) => kekId === LEGACY_KEK_ID);
    await this.reload();
  }

  /** Makes a new key current; the previous one is retired (still verifies). */
  async rotate(onlyIfNone = false): Promise<string> {
    const next = await this.generate();
    await this.change(async (tx) => {
      if (onlyIfNone && (await tx.signingKey.count()) > 0) return;
      await this.makeCurrent(tx, next);
    });
    return next.kid;
  }

  /**
   * Withdraws a key at once (an emergency: its private half may have leaked): its row is deleted,
   * so its tokens stop verifying and it leaves the JWKS on every instance. Withdrawing the current
   * key makes a new one current in the same transaction; its kid is returned (null otherwise).
   */
  async withdraw(kid: string): Promise<string | null> {
    const next = await this.generate();
    let replacement: string | null = null;
    await this.change(async (tx) => {
      const row = await tx.signingKey.findUnique({ where: { kid }, select: { retiredAt: true } });
      if (!row) throw new Error(`no signing key ${kid}`);
      if (!row.retiredAt) {
        await this.makeCurrent(tx, next);
        replacement = next.kid;
      }
      await tx.signingKey.delete({ where: { kid } });
    });
    return replacement;
  }

  /**
   * Keeps this instance's keys current: reloads whenever a change NOTIFYs (from any instance or the
   * command line), and every `reloadIntervalMs` as a backstop. Resolves once it listens.
   */
  async watch(databaseUrl: string | null, logger: Logger): Promise<{ stop(): Promise<void> }> {
    const watcher = new KeyWatcher(this, databaseUrl, this.reloadIntervalMs, logger);
    await watcher.begin();
    return watcher;
  }

  async reload(): Promise<void> {
    const horizon = new Date(this.clock.now().getTime() - this.tokenTtlMs - this.reloadIntervalMs);
    const rows = await this.prisma.signingKey.findMany({ where: { OR: [{ retiredAt: null }, { retiredAt: { gt: horizon } }] }, orderBy: { createdAt: "desc" } });
    const keys = new Map<string, LoadedKey>();
    let current: LoadedKey | null = null;
    for (const row of rows) {
      const alg = row.alg as JwtAlgorithm;
      const publicJwk = row.publicJwk as JWK;
      // A key's halves never change under its kid (a rewrap re-seals the same private half): a key
      // loaded before is reused, so a reload opens no sealed value (no KMS call) it has opened already.
      const known = this.keys.get(row.kid);
      const loaded: LoadedKey = {
        kid: row.kid,
        alg,
        publicJwk,
        publicKey: known?.publicKey ?? ((await importJWK(publicJwk, alg)) as CryptoKey),
        privateKey: row.retiredAt ? null : (known?.privateKey ?? ((await importJWK(JSON.parse(await this.vault.open(sealedOf(row), bindingOf(row.kid))) as JWK, alg)) as CryptoKey)),
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

  /** A new key pair of the configured algorithm, its private half sealed (generated outside any transaction). */
  private async generate(): Promise<NewKey> {
    const kid = randomUUID();
    const { publicKey, privateKey } = await generateKeyPair(this.algorithm, { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.algorithm, use: "sig" };
    const sealed = await this.vault.seal(JSON.stringify(await exportJWK(privateKey)), bindingOf(kid));
    return { kid, alg: this.algorithm, publicJwk, privateKeyEnc: sealed.ciphertext, wrappedKey: sealed.wrappedKey, kekId: sealed.kekId };
  }

  private async makeCurrent(tx: Tx, key: NewKey): Promise<void> {
    await tx.signingKey.updateMany({ where: { retiredAt: null }, data: { retiredAt: this.clock.now() } });
    await tx.signingKey.create({ data: key });
  }

  /** Runs a change of the keys under the key lock, tells every instance when it commits, and reloads. */
  private async change(apply: (tx: Tx) => Promise<void>): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_LOCK})`;
      await apply(tx);
      await tx.$executeRaw`SELECT pg_notify(${KEYS_CHANNEL}, '')`;
    });
    await this.reload();
  }
}

interface NewKey {
  kid: string;
  alg: JwtAlgorithm;
  publicJwk: JWK & { kid: string };
  privateKeyEnc: string;
  wrappedKey: string;
  kekId: string;
}

const bindingOf = (kid: string): Binding => ({ owner: kid, purpose: "signing-key" });
const sealedOf = (row: { privateKeyEnc: string; wrappedKey: string; kekId: string }): SealedRecord => ({ ciphertext: row.privateKeyEnc, wrappedKey: row.wrappedKey, kekId: row.kekId });

/** The sealed private halves, for keys:rewrap (and the re-seal of pre-vault keys in `init`). */
export function signingKeyRows(prisma: Prisma): SealedRows {
  return sealedColumns(prisma, { table: "signing_keys", id: "kid", idType: "text", ciphertext: "private_key_enc", binding: bindingOf });
}

/**
 * Reloads a KeyStore on NOTIFY and every interval. A lost LISTEN connection is opened again at once
 * (or, while the database is unreachable, at the next round); each round reloads after listening,
 * so a change committed while no connection listened is not missed.
 */
class KeyWatcher extends BackgroundLoop {
  private listener: pg.Client | null = null;

  constructor(
    private readonly keys: KeyStore,
    private readonly databaseUrl: string | null,
    intervalMs: number,
    private readonly logger: Logger,
  ) {
    super(intervalMs);
  }

  /** Listens, then starts the rounds (the first reloads at once: a change may have come since `init`). */
  async begin(): Promise<void> {
    await this.listen();
    this.start();
  }

  protected async step(): Promise<number> {
    await this.listen();
    await this.keys.reload();
    return 0;
  }

  protected onError(error: unknown, failures: number): void {
    if (failures === 1 || failures % 50 === 0) this.logger.warn({ err: { message: (error as Error).message }, failures }, "signing keys cannot be reloaded; retrying");
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.listener?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    if (!this.databaseUrl || this.listener) return;
    const client = await listen(this.databaseUrl, KEYS_CHANNEL, () => this.wake(), (error) => {
      this.logger.warn({ err: { message: error.message } }, "signing-key LISTEN connection lost; listening again");
      this.listener = null;
      client.end().catch(() => undefined);
      this.wake();
    });
    this.listener = client;
  }
}
