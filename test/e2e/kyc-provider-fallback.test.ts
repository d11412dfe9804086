import { metricValue } from "../support/graphql";
import { useApp } from "../support/harness";
import { kycUser, passport, providerCases, selfie, statusesOf, useProviderFakes } from "../support/kyc-providers";

// Sumsub first, Onfido when Sumsub is unavailable; an attempt gives up after half a second, and a
// call after two attempts (too few to open Sumsub's circuit across these tests).
const providers = useProviderFakes();
const h = useApp(() => ({ ...providers.env(), KYC_PROVIDER: "SUMSUB", KYC_FALLBACK_PROVIDERS: "ONFIDO", KYC_POLL_INTERVAL_S: "3600", KYC_PROVIDER_TIMEOUT_MS: "500", KYC_PROVIDER_MAX_ATTEMPTS: "2" }));
beforeAll(() => providers.webhooksTo(h.t.baseUrl));
const kyc = kycUser(h);

const fallbacks = () => metricValue(h.t.baseUrl, "kyc_provider_fallbacks_total", { from: "SUMSUB", to: "ONFIDO" });

/**
 * A verification started with the default provider (Sumsub) and submitted during `outage`: it
 * lands at Onfido, says so, is audited and counted, and Onfido's decision approves it.
 */
async function fallsBackToOnfido(outage: { begin(): void | Promise<void>; end(): void | Promise<void>; sumsubSkipped: RegExp }): Promise<void> {
  const { sumsub } = providers.fakes;
  const onfido = providerCases(h, providers.fakes).ONFIDO;
  const user = await h.signedIn();
  const changes = await kyc.watching(user);
  const fallbacksBefore = await fallbacks();
  await outage.begin();
  try {
    const id = await kyc.submitted(user);
    const checkId = await onfido.reached({ id, email: user.email }, [passport, selfie]);
    expect([...sumsub.applicants.values()].filter((a) => a.externalUserId === id)).toEqual([]);
    expect(await kyc.mine(user)).toMatchObject({ id, status: "IN_REVIEW", provider: "ONFIDO" });
    const [fallback] = await h.auditedAtLeast(1, { action: "kyc.provider_fallback", subjectId: id });
    expect(fallback).toMatchObject({ actorType: "system", metadata: { from: "SUMSUB", to: "ONFIDO", skipped: [{ provider: "SUMSUB", reason: expect.stringMatching(outage.sumsubSkipped) }] } });
    expect((await fallbacks()) - fallbacksBefore).toBeGreaterThanOrEqual(1);

    onfido.approve(checkId);
    await changes.received(2);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
    expect(await kyc.mine(user)).toMatchObject({ id, status: "APPROVED", provider: "ONFIDO" });
  } finally {
    await outage.end();
  }
}

describe("KYC_FALLBACK_PROVIDERS through the app: Sumsub unavailable, Onfido takes the verification", () => {
  it("Sumsub down (connection refused)", () =>
    fallsBackToOnfido({ begin: () => providers.fakes.sumsub.down(), end: () => providers.fakes.sumsub.up(), sumsubSkipped: /^SUMSUB createApplicant unavailable after 2 attempt\(s\): Sumsub createApplicant got no answer: ECONNREFUSED$/ }));

  it("Sumsub not answering (each attempt times out after KYC_PROVIDER_TIMEOUT_MS)", () =>
    fallsBackToOnfido({ begin: () => providers.fakes.sumsub.hang(true), end: () => providers.fakes.sumsub.hang(false), sumsubSkipped: /^SUMSUB createApplicant unavailable after 2 attempt\(s\): SUMSUB createApplicant timed out after 500 ms$/ }));
});
