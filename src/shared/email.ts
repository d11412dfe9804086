import { z } from "zod";
import { sql, type Prisma, type Sql } from "../platform/db/database";

/** One character of a local part: RFC 5322 `atext`, or any non-ASCII character that is not a control, format or space character (RFC 6531 `UTF8-non-ascii`). */
const LOCAL_CHARACTER = "(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\\0-\\x7F\\p{C}\\p{Z}])";
/** A host name label (RFC 1123): letters, digits and inner hyphens, at most 63. */
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

/**
 * An email address as this service takes it: a dot-atom local part of at most 64 characters
 * (quoted local parts are refused), "@", and a host name of at least two labels whose top-level
 * label is not all digits (RFC 3696 §2), at most 253 characters (internationalised domains in their
 * ASCII `xn--` form). Control characters are refused anywhere.
 */
const EMAIL_PATTERN = new RegExp(`^(?=[^@]{1,64}@)${LOCAL_CHARACTER}+(?:\\.${LOCAL_CHARACTER}+)*@(?=.{1,253}$)(?:${LABEL}\\.)+(?![0-9]+$)${LABEL}$`, "u");

/**
 * The one definition of an email address, shared by the input check (which refuses what it
 * rejects, before any write) and the event catalogue (which checks what is published). Described
 * to consumers as JSON Schema's `idn-email` (RFC 6531), not `email` (ASCII only).
 */
export const emailAddress = z.email({ pattern: EMAIL_PATTERN }).max(254).meta({ format: "idn-email" });

/**
 * What an address is counted under (rate limits): the address as the database compares it. The
 * users' `email` column is citext, which folds case with lower() in the database's collation, and
 * JavaScript's toLowerCase folds some characters otherwise (`İ` is `i` there, `i̇` here): keys made
 * with it would give one account several buckets. Asked of the database, with no table read, so an
 * unknown address costs what a known one does.
 */
export async function emailKey(db: Pick<Prisma, "$queryRaw">, email: string): Promise<string> {
  const [{ key }] = await db.$queryRaw<[{ key: string }]>`SELECT ${emailKeyOf(email)} AS key`;
  return key;
}

/** `emailKey` as an expression, for a statement that reads it with other things (login's lookup). */
export const emailKeyOf = (email: string): Sql => sql`lower(${email}::text)`;
