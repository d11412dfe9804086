import { randomBytes, randomInt, scrypt as scryptCallback } from "node:crypto";
import { promisify } from "node:util";
import { generateSecret, verify } from "otplib";

/** RFC 6238 as authenticator apps read it: SHA-1, 6 digits, 30-second steps. */
export const TOTP = { algorithm: "sha1", digits: 6, period: 30 } as const;
/** 160 bits, RFC 4226's recommendation (SECURITY 27). */
const SECRET_BYTES = 20;
const TOTP_CODE = /^\d{6}$/;

/** A new secret from the CSPRNG, base32 (what the user types or scans). */
export function newTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

/** The `otpauth://` URI authenticator apps scan (Google's Key Uri Format, every parameter spelt out). */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({ secret, issuer, algorithm: "SHA1", digits: String(TOTP.digits), period: String(TOTP.period) });
  return `otpauth://totp/${label}?${query.toString().replace(/\+/g, "%20")}`;
}

/** Whether `code` has the shape of a TOTP code (6 digits, spaces allowed as apps show them). */
export function looksLikeTotp(code: string): boolean {
  return TOTP_CODE.test(code.replace(/\s/g, ""));
}

/**
 * The RFC 6238 time step `code` is valid for at `nowMs`, at most one step of drift either way
 * (SECURITY 24); null when it is valid for none of them. Constant-time comparison (otplib).
 */
export async function totpStep(secret: string, code: string, nowMs: number): Promise<number | null> {
  const token = code.replace(/\s/g, "");
  if (!TOTP_CODE.test(token)) return null;
  const epoch = Math.floor(nowMs / 1000);
  const result = await verify({ secret, token, epoch, epochTolerance: TOTP.period, ...TOTP });
  return result.valid ? Math.floor(epoch / TOTP.period) + result.delta : null;
}

/** Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand cannot be misread. */
const BACKUP_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** 12 characters of 5 bits: 60 bits, stored as a salted scrypt hash (SECURITY 29). */
const BACKUP_LENGTH = 12;
export const BACKUP_CODE_COUNT = 10;
const scrypt = promisify(scryptCallback) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;
/** About 50 ms and 16 MiB per hash: one per backup code attempt, so a stolen table costs that per guess. */
const SCRYPT = { N: 16_384, r: 8, p: 1 };

/** Ten new backup codes, shown as `XXXX-XXXX-XXXX`. */
export function newBackupCodes(): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () => {
    const chars = Array.from({ length: BACKUP_LENGTH }, () => BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)]).join("");
    return chars.match(/.{4}/g)?.join("-") ?? chars;
  });
}

/** A backup code as typed (any case, dashes or spaces, O for 0, I or L for 1) in its one spelling; null when it cannot be one. */
export function normaliseBackupCode(code: string): string | null {
  const plain = code.replace(/[\s-]/g, "").toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
  return plain.length === BACKUP_LENGTH && [...plain].every((c) => BACKUP_ALPHABET.includes(c)) ? plain : null;
}

export const newBackupSalt = () => randomBytes(16).toString("hex");

/** What is stored for a (normalised) backup code: scrypt under the user's salt, hex. */
export async function backupCodeHash(normalised: string, salt: string): Promise<string> {
  return (await scrypt(normalised, Buffer.from(salt, "hex"), 32, SCRYPT)).toString("hex");
}
