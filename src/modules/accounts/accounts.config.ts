import { int, oneOf, type ConfigPart } from "../../shared/config-spec";

/** The accounts module's variables. */
export const accountsConfig = {
  PASSWORD_POLICY: oneOf("product: 12+ characters with upper, lower, digit and special, not the email or name; nist: 12+ characters, any; both refuse common passwords", ["product", "nist"] as const, "product"),
  EMAIL_VERIFICATION_TTL_S: int("Lifetime of an email verification link", 86_400, 60, 2_592_000),
} satisfies ConfigPart;
