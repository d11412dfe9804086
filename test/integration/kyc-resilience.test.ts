import { setTimeout as sleep } from "node:timers/promises";
import { Registry } from "prom-client";
import { KycMetrics } from "../../src/modules/kyc/kyc.metrics";
import type { KycProviderName } from "../../src/modules/kyc/kyc.model";
import type { ApplicantRequest, KycCall, KycProvider } from "../../src/modules/kyc/providers/provider";
import { ProviderUnavailableError } from "../../src/platform/http/provider-http";
import { ResilientProviders, type ResiliencePolicyOptions } from "../../src/modules/kyc/providers/resilient";
import { startFlakyServer, type FlakyServer } from "../support/fakes/flaky";
import { sampleSum } from "../support/metrics";

jest.setTimeout(30_000);

// Generous per-attempt timeout, so a loaded machine never turns a slow answer into a timeout; the hang test sets its own.
const POLICY: ResiliencePolicyOptions = { timeoutMs: 2_000, maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 2_000, breakerThreshold: 5, halfOpenAfterMs: 300 };
const APPLICANT: ApplicantRequest = { verificationId: "ver-1", reference: "ver-1-1", userId: "user-1", email: "alice@example.test", level: "BASIC" };
const EVERY_CALL: KycCall[] = ["createApplicant", "uploadDocument", "requestCheck", "getStatus"];

/**
 * A provider over HTTP as the real adapters are: 429, 5xx and a failed connection are the
 * provider being unavailable (with its Retry-After); any other error status is a refusal.
 */
function httpProvider(name: KycProviderName, baseUrl: string, idempotent: KycCall[]): KycProvider {
  const notHere = () => Promise.reject(new Error("not exercised by these tests"));
  return {
    name,
    idempotent: new Set(idempotent),
    async createApplicant(_request, signal) {
      let response: Response;
      try {
        response = await fetch(`${baseUrl}/applicants`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal });
      } catch (error) {
        if (signal.aborted) throw error;
        throw new ProviderUnavailableError(`${name}: ${(error as Error).message}`);
      }
      const body = (await response.json()) as { id: string };
      const retryAfter = response.headers.get("retry-after");
      if (response.status === 429 || response.status >= 500) throw new ProviderUnavailableError(`${name} answered ${response.status}`, retryAfter === null ? null : Number(retryAfter));
      if (!response.ok) throw new Error(`${name} refused the request: ${response.status}`);
      return { applicantId: body.id, checkId: null };
    },
    uploadDocument: notHere,
    requestCheck: notHere,
    getStatus: notHere,
    parseWebhook: () => null,
  };
}

const servers: FlakyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** One flaky server per provider (answering 200 with `<NAME>-applicant` unless told otherwise), the providers over them, and their metrics. */
async function setup<N extends KycProviderName>(names: N[], policy: Partial<ResiliencePolicyOptions> = {}, idempotent = EVERY_CALL) {
  const fakes = {} as Record<N, FlakyServer>;
  for (const name of names) {
    fakes[name] = await startFlakyServer({ status: 200, body: { id: `${name}-applicant` } });
    servers.push(fakes[name]);
  }
  const registry = new Registry();
  const resilient = new ResilientProviders({ providers: names.map((n) => httpProvider(n, fakes[n].url, idempotent)), policy: { ...POLICY, ...policy }, metrics: new KycMetrics(registry) });
  return {
    fakes,
    resilient,
    registry,
    create: (name: N) => resilient.call(name, "createApplicant", (provider, signal) => provider.createApplicant(APPLICANT, signal)),
    fallback: (order: N[]) => resilient.withFallback(order, "createApplicant", (provider, signal) => provider.createApplicant(APPLICANT, signal)),
    metric: async (name: string, labels: Record<string, string>) => sampleSum(await registry.metrics(), name, labels),
  };
}

const failures = (provider: string, reason: string) => ["kyc_provider_failures_total", { provider, call: "createApplicant", reason }] as const;

describe("one provider under its policy", () => {
  it("retries a provider that fails twice and then recovers", async () => {
    const { fakes, create, metric, resilient } = await setup(["SUMSUB"]);
    fakes.SUMSUB.replies.push({ status: 503 }, { status: 502 });

    await expect(create("SUMSUB")).resolves.toEqual({ applicantId: "SUMSUB-applicant", checkId: null });
    expect(fakes.SUMSUB.calls).toHaveLength(3);
    expect(await metric(...failures("SUMSUB", "unavailable"))).toBe(2);
    expect(await metric("kyc_latency_seconds_count", { provider: "SUMSUB", call: "createApplicant", outcome: "ok" })).toBe(1);
    expect(await metric("kyc_latency_seconds_count", { provider: "SUMSUB", call: "createApplicant", outcome: "unavailable" })).toBe(2);
    expect(resilient.state("SUMSUB")).toBe("closed");
  });

  it("times out a hung request, aborts its socket, and counts the timeouts for the breaker", async () => {
    const { fakes, create, metric, resilient } = await setup(["SUMSUB"], { timeoutMs: 200, maxAttempts: 2, breakerThreshold: 2 });
    fakes.SUMSUB.otherwise = "hang";

    const error = await create("SUMSUB").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toMatch(/^SUMSUB createApplicant unavailable after 2 attempt\(s\): SUMSUB createApplicant timed out after 200 ms$/);
    // Both hung requests had their connection closed by the client: the timeout aborted them, it did not leave them running.
    await fakes.SUMSUB.abandoned(2);
    expect(fakes.SUMSUB.calls).toHaveLength(2);
    expect(await metric(...failures("SUMSUB", "timeout"))).toBe(2);
    expect(resilient.state("SUMSUB")).toBe("open");
  });

  it("does not send again a call the provider does not declare idempotent once it timed out (the provider may have done it); unavailability that did nothing is retried", async () => {
    const { fakes, create, metric } = await setup(["ONFIDO"], { timeoutMs: 200, maxAttempts: 3 }, ["getStatus"]);
    fakes.ONFIDO.otherwise = "hang";

    await expect(create("ONFIDO")).rejects.toThrow(/^ONFIDO createApplicant unavailable after 1 attempt\(s\): ONFIDO createApplicant timed out after 200 ms/);
    await fakes.ONFIDO.abandoned(1);
    expect(fakes.ONFIDO.calls).toHaveLength(1);
    expect(await metric(...failures("ONFIDO", "timeout"))).toBe(1);

    // A 503 or a 429 says the request was not carried out: retried as ever.
    fakes.ONFIDO.otherwise = { status: 200, body: { id: "ONFIDO-applicant" } };
    fakes.ONFIDO.replies.push({ status: 503 }, { status: 429 });
    await expect(create("ONFIDO")).resolves.toEqual({ applicantId: "ONFIDO-applicant", checkId: null });
    expect(fakes.ONFIDO.calls).toHaveLength(4);
  });

  it("waits for the provider's Retry-After before retrying", async () => {
    const { fakes, create } = await setup(["SUMSUB"]);
    fakes.SUMSUB.replies.push({ status: 429, headers: { "retry-after": "1" } });

    await expect(create("SUMSUB")).resolves.toEqual({ applicantId: "SUMSUB-applicant", checkId: null });
    const [first, second] = fakes.SUMSUB.calls;
    expect(fakes.SUMSUB.calls).toHaveLength(2);
    // By the server's own clock; the jitter alone (initialDelay 10 ms) would retry within tens of ms.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
  });

  it("caps a Retry-After at maxDelay", async () => {
    const { fakes, create } = await setup(["SUMSUB"], { maxDelayMs: 300 });
    fakes.SUMSUB.replies.push({ status: 429, headers: { "retry-after": "3600" } });

    // Honoured uncapped, this would wait an hour, far past the test's timeout.
    await expect(create("SUMSUB")).resolves.toEqual({ applicantId: "SUMSUB-applicant", checkId: null });
    expect(fakes.SUMSUB.calls).toHaveLength(2);
  });

  it("opens the circuit after consecutive failures, fails fast while open, and closes after a good trial call", async () => {
    const { fakes, create, metric, registry, resilient } = await setup(["SUMSUB"], { maxAttempts: 3, breakerThreshold: 3 });
    expect(await registry.getSingleMetricAsString("kyc_provider_circuit_state")).toContain('kyc_provider_circuit_state{provider="SUMSUB"} 0');
    fakes.SUMSUB.otherwise = { status: 503 };

    await expect(create("SUMSUB")).rejects.toThrow(/^SUMSUB createApplicant unavailable after 3 attempt\(s\): SUMSUB answered 503$/);
    // At once, well within halfOpenAfter.
    const fast = await create("SUMSUB").catch((e: unknown) => e);
    expect(resilient.state("SUMSUB")).toBe("open");
    expect(await metric("kyc_provider_circuit_state", { provider: "SUMSUB" })).toBe(2);
    expect(fast).toBeInstanceOf(ProviderUnavailableError);
    expect((fast as Error).message).toBe("SUMSUB is unavailable: its circuit is open after repeated failures");
    expect(fakes.SUMSUB.calls).toHaveLength(3);
    expect(await metric(...failures("SUMSUB", "circuit_open"))).toBe(1);

    fakes.SUMSUB.otherwise = { status: 200, body: { id: "recovered" } };
    await sleep(POLICY.halfOpenAfterMs + 100);
    await expect(create("SUMSUB")).resolves.toEqual({ applicantId: "recovered", checkId: null });
    expect(fakes.SUMSUB.calls).toHaveLength(4);
    expect(resilient.state("SUMSUB")).toBe("closed");
    expect(await metric("kyc_provider_circuit_state", { provider: "SUMSUB" })).toBe(0);
  });

  it("reopens the circuit when the trial call fails, without retrying it", async () => {
    const { fakes, create, metric, resilient } = await setup(["SUMSUB"], { maxAttempts: 3, breakerThreshold: 1 });
    fakes.SUMSUB.otherwise = { status: 503 };
    await expect(create("SUMSUB")).rejects.toThrow(ProviderUnavailableError);
    expect(fakes.SUMSUB.calls).toHaveLength(1);

    await sleep(POLICY.halfOpenAfterMs + 100);
    await expect(create("SUMSUB")).rejects.toThrow("SUMSUB is unavailable: its circuit is open after repeated failures");
    expect(fakes.SUMSUB.calls).toHaveLength(2);
    expect(resilient.state("SUMSUB")).toBe("open");
    expect(await metric("kyc_provider_circuit_state", { provider: "SUMSUB" })).toBe(2);
  });

  it("neither retries a refusal nor holds it against the circuit", async () => {
    const { fakes, create, metric, resilient } = await setup(["SUMSUB"], { maxAttempts: 3, breakerThreshold: 1 });
    fakes.SUMSUB.otherwise = { status: 400, body: { description: "Invalid level" } };

    for (const calls of [1, 2]) {
      const error = await create("SUMSUB").catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(ProviderUnavailableError);
      expect((error as Error).message).toBe("SUMSUB refused the request: 400");
      expect(fakes.SUMSUB.calls).toHaveLength(calls);
    }
    expect(resilient.state("SUMSUB")).toBe("closed");
    expect(await metric("kyc_provider_circuit_state", { provider: "SUMSUB" })).toBe(0);
    expect(await metric(...failures("SUMSUB", "rejected"))).toBe(2);
  });
});

describe("withFallback", () => {
  it("moves on from a provider that is down to the next one", async () => {
    const { fakes, fallback, metric, registry } = await setup(["SUMSUB", "ONFIDO"], { maxAttempts: 2 });
    expect(await registry.getSingleMetricAsString("kyc_provider_circuit_state")).toContain('kyc_provider_circuit_state{provider="ONFIDO"} 0');
    fakes.SUMSUB.otherwise = { status: 503 };

    const result = await fallback(["SUMSUB", "ONFIDO"]);
    expect(result).toEqual({
      provider: "ONFIDO",
      value: { applicantId: "ONFIDO-applicant", checkId: null },
      skipped: [{ provider: "SUMSUB", reason: "SUMSUB createApplicant unavailable after 2 attempt(s): SUMSUB answered 503" }],
    });
    expect(fakes.SUMSUB.calls).toHaveLength(2);
    expect(fakes.ONFIDO.calls).toHaveLength(1);
    expect(await metric("kyc_provider_fallbacks_total", { from: "SUMSUB", to: "ONFIDO" })).toBe(1);
  });

  it("passes over a provider whose circuit is open without calling it", async () => {
    const { fakes, create, fallback, resilient } = await setup(["SUMSUB", "ONFIDO"], { maxAttempts: 1, breakerThreshold: 1 });
    fakes.SUMSUB.otherwise = { status: 503 };
    await expect(create("SUMSUB")).rejects.toThrow(ProviderUnavailableError);
    expect(resilient.state("SUMSUB")).toBe("open");

    const result = await fallback(["SUMSUB", "ONFIDO"]);
    expect(result.provider).toBe("ONFIDO");
    expect(result.skipped).toEqual([{ provider: "SUMSUB", reason: "SUMSUB is unavailable: its circuit is open after repeated failures" }]);
    expect(fakes.SUMSUB.calls).toHaveLength(1);
  });

  it("fails naming every provider when all are down", async () => {
    const { fakes, fallback, metric } = await setup(["SUMSUB", "ONFIDO"], { maxAttempts: 1 });
    fakes.SUMSUB.otherwise = { status: 503 };
    fakes.ONFIDO.otherwise = { status: 502 };

    const error = await fallback(["SUMSUB", "ONFIDO"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect((error as Error).message).toBe(
      "No KYC provider available for createApplicant: SUMSUB createApplicant unavailable after 1 attempt(s): SUMSUB answered 503; ONFIDO createApplicant unavailable after 1 attempt(s): ONFIDO answered 502",
    );
    expect(fakes.SUMSUB.calls).toHaveLength(1);
    expect(fakes.ONFIDO.calls).toHaveLength(1);
    expect(await metric("kyc_provider_fallbacks_total", { from: "SUMSUB", to: "ONFIDO" })).toBe(1);
  });

  it("stops at a refusal instead of asking the next provider", async () => {
    const { fakes, fallback, metric } = await setup(["SUMSUB", "ONFIDO"]);
    fakes.SUMSUB.otherwise = { status: 400 };

    await expect(fallback(["SUMSUB", "ONFIDO"])).rejects.toThrow("SUMSUB refused the request: 400");
    expect(fakes.SUMSUB.calls).toHaveLength(1);
    expect(fakes.ONFIDO.calls).toHaveLength(0);
    expect(await metric("kyc_provider_fallbacks_total", {})).toBe(0);
  });
});
