import { int, spec, Invalid, type ConfigPart } from "../../shared/config-spec";

/** The MFA module's variables. */
export const mfaConfig = {
  MFA_ISSUER: spec("The issuer authenticator apps show beside the account (the otpauth:// URI's issuer; no colon)", "Identity", (raw) => {
    const issuer = raw === undefined || raw === "" ? "Identity" : raw.trim();
    if (issuer.length > 64 || issuer.includes(":")) throw new Invalid("expected at most 64 characters and no colon");
    return issuer;
  }),
  MFA_CHALLENGE_TTL_S: int("How long a login's MFA challenge (challengeToken) can be completed", 300, 30, 900),
} satisfies ConfigPart;
