import { describeErrorObject, neverActedOn, ProviderHttp, ProviderRefusedError, ProviderUnavailableError, retryAfterSeconds, timingSafeEqualHex } from "../../src/platform/http/provider-http";
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

  describe("ProviderHttp: one mapping of answers for every adapter", () => {
    /** An adapter's plumbing whose fetch answers `status` with `body` (and `headers`). */
    const answering = (status: number, body: string, headers: Record<string, string> = {}, options: ConstructorParameters<typeof ProviderHttp>[1] = {}) =>
      new ProviderHttp("Acme", { ...options, fetch: async () => new Response(body, { status, headers }) });
    const get = (http: ProviderHttp, redact?: string[]) => http.json("getThing", { method: "GET", url: "http://acme.invalid/thing", headers: {}, signal: AbortSignal.timeout(15_000), redact });
    const failure = (call: Promise<unknown>) => call.then(() => null, (error: unknown) => error as Error);

    it("408, 429, 5xx and the provider's own transient statuses are unavailable, with the Retry-After asked for", async () => {
      for (const [status, retryAfter] of [[408, null], [429, 7], [500, null], [503, 2]] as const) {
        const error = await failure(get(answering(status, "{}", retryAfter === null ? {} : { "retry-after": String(retryAfter) })));
        expect(error).toBeInstanceOf(ProviderUnavailableError);
        expect((error as ProviderUnavailableError).retryAfterSeconds).toBe(retryAfter);
      }
      expect(await failure(get(answering(409, "{}")))).toBeInstanceOf(ProviderRefusedError);
      expect(await failure(get(answering(409, "{}", {}, { alsoTransient: [409] })))).toBeInstanceOf(ProviderUnavailableError);
    });

    it("a refusal names the provider, the call, the status and the provider's reason, without the credentials or what was sent", async () => {
      const body = JSON.stringify({ error: { type: "invalid_request_error", message: `key sk_live_secret is not allowed for alice@example.com ${"!".repeat(600)}` } });
      const error = await failure(get(answering(403, body, {}, { redact: ["sk_live_secret"] }), ["alice@example.com"]));
      expect(error).toBeInstanceOf(ProviderRefusedError);
      expect(error).not.toBeInstanceOf(ProviderUnavailableError);
      expect((error as ProviderRefusedError).status).toBe(403);
      expect(error?.message).toMatch(/^Acme getThing refused: HTTP 403 invalid_request_error: key \[redacted\] is not allowed for \[redacted\] !+$/);
      expect(error?.message.length).toBeLessThan(600);
      expect((await failure(get(answering(404, "<html>not found</html>"))))?.message).toBe("Acme getThing refused: HTTP 404");
    });

    it("an answer is its JSON body; a 2xx without one is an error naming the call", async () => {
      await expect(get(answering(200, '{"id":"x1"}'))).resolves.toEqual({ id: "x1" });
      await expect(get(answering(200, ""))).rejects.toThrow("Acme getThing answered HTTP 200 without a JSON body");
    });

    it("an adapter's own refusal errors get the status, the body and the reason with the secrets blanked", async () => {
      const refusal = jest.fn(() => new Error("mine"));
      const body = { error: { type: "auth", message: "key sk_live_secret refused" } };
      const error = await failure(get(answering(403, JSON.stringify(body), {}, { redact: ["sk_live_secret"], refusal })));
      expect(error?.message).toBe("mine");
      expect(refusal).toHaveBeenCalledWith({ what: "Acme getThing", status: 403, body, reason: "auth: key [redacted] refused" });
    });

    it("an unavailability says whether the provider certainly did not act: a 429 or no connection, not a 5xx or a timeout", async () => {
      const status = await failure(get(answering(503, "{}")));
      expect(status).toMatchObject({ status: 503 });
      expect(neverActedOn(status as ProviderUnavailableError)).toBe(false);
      expect(neverActedOn((await failure(get(answering(429, "{}")))) as ProviderUnavailableError)).toBe(true);
      const refused = new ProviderHttp("Acme", { fetch: async () => Promise.reject(new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) })) });
      const notConnected = await failure(get(refused));
      expect(notConnected).toMatchObject({ status: null, message: expect.stringMatching(/got no answer: ECONNREFUSED$/) });
      expect(neverActedOn(notConnected as ProviderUnavailableError)).toBe(true);
      const reset = new ProviderHttp("Acme", { fetch: async () => Promise.reject(new TypeError("fetch failed", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) })) });
      expect(neverActedOn((await failure(get(reset))) as ProviderUnavailableError)).toBe(false);
    });
  });
});
