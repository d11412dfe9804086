import { randomUUID } from "node:crypto";
import type { Clock } from "../platform/clock";
import { TOKEN_SHAPE, hashToken, newOpaqueToken } from "../platform/crypto/tokens";
import type { Tx } from "../platform/db/database";

/** A fresh token (for the mail), and what is stored for it. */
export interface MintedToken {
  token: string;
  tokenHash: string;
  expiresAt: Date;
}

type Db = Pick<Tx, "$queryRaw" | "$executeRaw">;

/** A token that works: whose it is, and what it was bound to when issued. */
export interface HeldToken {
  userId: string;
  context: unknown;
}

/**
 * Tokens that work once, until they expire (email verification, password reset; next MFA
 * challenges, OAuth state, export links), in the one table `single_use_tokens`, told apart by
 * purpose. Stored as SHA-256 hashes; spent by a compare-and-swap on `used_at`, so two presentations
 * of one token spend it once. A token of one purpose never works for another.
 */
export class SingleUseTokens<Purpose extends string> {
  constructor(private readonly clock: Clock) {}

  /** A token and its hash and expiry, for a statement that stores it itself; `issue` stores it. */
  mint(ttlMs: number): MintedToken {
    const token = newOpaqueToken();
    return { token, tokenHash: hashToken(token), expiresAt: new Date(this.clock.now().getTime() + ttlMs) };
  }

  /** Stores a new token for `userId`, bound to `context` (JSON, checked by whoever spends it). */
  async issue(db: Db, purpose: Purpose, userId: string, ttlMs: number, context: object | null = null): Promise<MintedToken> {
    const minted = this.mint(ttlMs);
    await db.$executeRaw`
      INSERT INTO single_use_tokens (id, purpose, user_id, token_hash, expires_at, context)
      VALUES (${randomUUID()}::uuid, ${purpose}, ${userId}::uuid, ${minted.tokenHash}, ${minted.expiresAt}, ${context === null ? null : JSON.stringify(context)}::jsonb)`;
    return minted;
  }

  /** The token if it would work now, without spending it; null for any other string. */
  async peek(db: Db, purpose: Purpose, token: string): Promise<HeldToken | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const [row] = await db.$queryRaw<HeldToken[]>`
      SELECT user_id::text AS "userId", context FROM single_use_tokens
      WHERE purpose = ${purpose} AND token_hash = ${hashToken(token)} AND used_at IS NULL AND expires_at > ${this.clock.now()}`;
    return row ?? null;
  }

  /** Spends a token that works now and returns it; null when it does not (any more). */
  async consume(db: Db, purpose: Purpose, token: string): Promise<HeldToken | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const now = this.clock.now();
    const [row] = await db.$queryRaw<HeldToken[]>`
      UPDATE single_use_tokens SET used_at = ${now}
      WHERE purpose = ${purpose} AND token_hash = ${hashToken(token)} AND used_at IS NULL AND expires_at > ${now}
      RETURNING user_id::text AS "userId", context`;
    return row ?? null;
  }

  /** Voids the user's tokens of `purpose` not yet used; returns how many. */
  async voidUnused(db: Db, purpose: Purpose, userId: string): Promise<number> {
    return db.$executeRaw`DELETE FROM single_use_tokens WHERE user_id = ${userId}::uuid AND purpose = ${purpose} AND used_at IS NULL`;
  }
}
