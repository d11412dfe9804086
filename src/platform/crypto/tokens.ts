import { createHash, randomBytes } from "node:crypto";

/** An opaque secret for a link or a cookie: 256 bits from the CSPRNG, base64url. */
export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/** What is stored instead of the token: SHA-256, hex (the token has 256 bits of entropy, no salt needed). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
