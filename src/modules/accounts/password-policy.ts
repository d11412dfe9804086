import { dictionary } from "@zxcvbn-ts/language-common";

export type PasswordPolicyName = "product" | "nist";

import { BCRYPT_MAX_BYTES } from "../../platform/crypto/passwords";

/** Checked before anything else (and before hashing): a 1 MB password costs nothing. */
const MAX_CHARACTERS = 256;

const COMMON = new Set((dictionary["passwords-common"] as string[]).map((p) => p.toLowerCase()));

export interface PasswordContext {
  email?: string;
  name?: string | null;
}

/**
 * The problems of a candidate password under a policy; empty when it is acceptable.
 * - product (default): at least 12 characters with upper case, lower case, digit and special
 *   character, not containing the email's local part or the name, not a common password.
 * - nist: at least 12 characters and not a common password; any characters (spaces, emoji).
 * Both: at most 72 UTF-8 bytes (bcrypt's limit).
 */
export function passwordProblems(password: string, policy: PasswordPolicyName, context: PasswordContext = {}): string[] {
  if (password.length > MAX_CHARACTERS) return [`must be at most ${BCRYPT_MAX_BYTES} bytes`];
  const problems: string[] = [];
  const characters = [...password].length;
  if (characters < 12) problems.push("must be at least 12 characters");
  if (Buffer.byteLength(password, "utf8") > BCRYPT_MAX_BYTES) problems.push(`must be at most ${BCRYPT_MAX_BYTES} bytes in UTF-8 (bcrypt's limit)`);
  if (policy === "product") {
    if (!/\p{Lu}/u.test(password)) problems.push("must contain an upper-case letter");
    if (!/\p{Ll}/u.test(password)) problems.push("must contain a lower-case letter");
    if (!/\p{Nd}/u.test(password)) problems.push("must contain a digit");
    if (!/[^\p{L}\p{Nd}]/u.test(password)) problems.push("must contain a special character");
    const lower = password.toLowerCase();
    const local = context.email?.split("@")[0]?.toLowerCase();
    if (local && local.length >= 3 && lower.includes(local)) problems.push("must not contain your email address");
    const name = context.name?.trim().toLowerCase();
    if (name && name.length >= 3 && lower.includes(name)) problems.push("must not contain your name");
  }
  if (COMMON.has(password.toLowerCase())) problems.push("is too common");
  return problems;
}
