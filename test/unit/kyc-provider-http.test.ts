import { describeErrorObject, retryAfterSeconds, timingSafeEqualHex } from "../../src/modules/kyc/providers/provider-http";
import { formEncode } from "../../src/modules/kyc/providers/stripe-identity";

describe("the provider adapters' shared plumbing", () => {
  it("Retry-After: seconds or an HTTP date, never negative; null when absent or unreadable", () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    expect(retryAfterSeconds("12", now)).toBe(12);
    expect(retryAfterSeconds("Tue, 01 Dec 2026 10:00:30 GMT", now)).toBe(30);
    expect(retryAfterSeconds("Tue, 01 Dec 2026 09:00:00 GMT", now)).toBe(0);
    expect(retryAfterSeconds("soon", now)).toBeNull();
    expect(retryAfterSeconds(null, now)).toBeNull();
  });

  it("timingSafeEqualHex matches equal hex in any case, and nothing truncated, padded or not hex", () => {
    const hex = "0a1b2c3d4e5f";
    expect(timingSafeEqualHex(hex, hex)).toBe(true);
    expect(timingSafeEqualHex(hex.toUpperCase(), hex)).toBe(true);
    for (const other of ["0a1b2c3d4e5e", "0a1b2c3d4e", `${hex}00`, "0a1b2c3d4e5", "zz1b2c3d4e5f", ""]) expect(timingSafeEqualHex(other, hex)).toBe(false);
  });

  it("Stripe's form encoding: bracketed nested keys, undefined left out, values escaped", () => {
    expect(decodeURIComponent(formEncode({ type: "document", metadata: { verification_id: "v 1&x" }, options: { document: { require_matching_selfie: true } }, return_url: undefined }))).toBe(
      "type=document&metadata[verification_id]=v+1&x&options[document][require_matching_selfie]=true",
    );
    expect(new URLSearchParams(formEncode({ metadata: { verification_id: "v 1&x" } })).get("metadata[verification_id]")).toBe("v 1&x");
  });

  it("error bodies: the provider's type and message, and the names of the fields at fault (never their values)", () => {
    expect(describeErrorObject({ error: { type: "validation_error", message: "There was a validation error", fields: { email: ["alice@ is not valid"] } } })).toBe("validation_error: There was a validation error (email)");
    expect(describeErrorObject({ error: { type: "invalid_request_error", message: "No such session", param: "session" } })).toBe("invalid_request_error: No such session (session)");
    expect(describeErrorObject({ description: "Sumsub's shape" })).toBeUndefined();
    expect(describeErrorObject(null)).toBeUndefined();
  });
});
