import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";
const TAG_BYTES = 16;

/**
 * AES-256-GCM with a fresh 96-bit IV per message and a 16-byte tag, the tag length enforced on
 * decryption. `aad` binds the ciphertext to where it belongs (a copy elsewhere fails to decrypt).
 * Format: v1.<iv>.<ciphertext>.<tag>, base64url. Fails closed: any change throws.
 */
export function seal(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [VERSION, iv, body, cipher.getAuthTag()].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
}

export function open(key: Buffer, sealed: string, aad: string): string {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== VERSION || !iv || body === undefined || !tag) throw new Error("sealed value is malformed");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad));
  const tagBytes = Buffer.from(tag, "base64url");
  if (tagBytes.length !== TAG_BYTES) throw new Error("sealed value has a truncated tag");
  decipher.setAuthTag(tagBytes);
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}

const BYTES_VERSION = 1;

/**
 * The same AES-256-GCM for large binary values (documents), without base64: one version byte,
 * the 12-byte IV, the 16-byte tag, then the ciphertext.
 */
export function sealBytes(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([BYTES_VERSION]), iv, cipher.getAuthTag(), body]);
}

export function openBytes(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 1 + 12 + TAG_BYTES || sealed[0] !== BYTES_VERSION) throw new Error("sealed bytes are malformed");
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(1, 13), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(13, 13 + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(13 + TAG_BYTES)), decipher.final()]);
}
