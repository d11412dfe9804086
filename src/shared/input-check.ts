import { BadUserInputError, type FieldProblem } from "./errors";
import { emailAddress } from "./email";
import { parseUuid } from "./ids";

/** Control and format characters (C0, DEL, C1, zero-width and bidirectional marks): never part of a text value. */
const CONTROL = /[\p{Cc}\p{Cf}]/u;
const TIMEZONES = new Set([...Intl.supportedValuesOf("timeZone"), "UTC"]);
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/** An email given as a plain argument (not inside an input): trimmed, or BAD_USER_INPUT on `email`. */
export function emailArgument(raw: string): string {
  const check = new InputCheck("input");
  const email = check.email("email", raw);
  if (check.problems.length > 0) throw BadUserInputError.field("email", "must be an email address");
  return email;
}

/** An ID argument (every operation taking one parses it so): a UUID in any case, lowercased, or BAD_USER_INPUT on `field`. */
export function idArgument(field: string, raw: string): string {
  const id = parseUuid(raw);
  if (id === null) throw BadUserInputError.field(field, "must be a UUID");
  return id;
}

/** Collects the problems of one input, field by field, so a caller learns all of them at once. */
export class InputCheck {
  readonly problems: FieldProblem[] = [];

  /** `prefix` names the input (`input`, `filter`); empty for plain arguments. */
  constructor(private readonly prefix: string) {}

  private add(field: string, message: string): void {
    this.problems.push({ field: this.prefix ? `${this.prefix}.${field}` : field, message });
  }

  /** Trimmed and in Unicode NFC (RFC 6532 §3.1), so that one address is stored and found one way. */
  email(field: string, value: string): string {
    const normalised = value.trim().normalize("NFC");
    if (!emailAddress.safeParse(normalised).success) this.add(field, "must be an email address");
    return normalised;
  }

  text(field: string, value: string | null | undefined, max: number): string | null {
    if (value === null || value === undefined) return null;
    const trimmed = value.trim();
    if (trimmed.length > max) this.add(field, `must be at most ${max} characters`);
    else if (CONTROL.test(trimmed)) this.add(field, "must not contain control characters");
    return trimmed === "" ? null : trimmed;
  }

  /** BCP 47 language tag, returned in canonical form (en-us -> en-US). */
  locale(field: string, value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) return undefined;
    try {
      const [canonical] = value.length <= 35 ? Intl.getCanonicalLocales(value) : [];
      if (canonical) return canonical;
    } catch {
      // reported below
    }
    this.add(field, "must be a BCP 47 language tag such as en or pt-BR");
    return undefined;
  }

  /** IANA time zone name. */
  timezone(field: string, value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) return undefined;
    if (!TIMEZONES.has(value)) this.add(field, "must be an IANA time zone such as Europe/Paris");
    return value;
  }

  /** ISO 4217 currency code. */
  currency(field: string, value: string | null | undefined): string | undefined {
    if (value === null || value === undefined) return undefined;
    const upper = value.toUpperCase();
    if (!/^[A-Z]{3}$/.test(upper) || !CURRENCIES.has(upper)) this.add(field, "must be an ISO 4217 currency code such as USD");
    return upper;
  }

  /** E.164 phone number; an empty string clears it. */
  phone(field: string, value: string | null | undefined): string | null | undefined {
    if (value === null || value === undefined) return value;
    if (value === "") return null;
    if (!/^\+[1-9]\d{1,14}$/.test(value)) this.add(field, "must be an E.164 phone number such as +14155550123");
    return value;
  }

  /** https URL of at most 2048 characters; an empty string clears it. (The URL parser would accept, and the value keep, control characters.) */
  httpsUrl(field: string, value: string | null | undefined): string | null | undefined {
    if (value === null || value === undefined) return value;
    if (value === "") return null;
    if (!(value.length <= 2048 && URL.canParse(value) && new URL(value).protocol === "https:")) this.add(field, "must be an https:// URL of at most 2048 characters");
    else if (CONTROL.test(value)) this.add(field, "must not contain control characters");
    return value;
  }

  problem(field: string, message: string): void {
    this.add(field, message);
  }
}
