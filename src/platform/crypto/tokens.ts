import { createHash, randomBytes } from "node:crypto";

/** The shape of every opaque token (`newOpaqueToken`): 256 bits, base64url. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** An opaque secret for a link or a cookie: 256 bits from the CSPRNG, base64url. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/** What is stored instead of the token: SHA-256, hex (the token has 256 bits of entropy, no salt needed). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
