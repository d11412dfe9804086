import { bytesOfSize } from "../support/documents";
import { useApp } from "../support/harness";
import { kycUser, passport, providerCases, selfie, statusesOf, useProviderFakes, type ProviderCase } from "../support/kyc-providers";
import { waitUntil } from "../support/wait";

/**
 * The provider's part of the flow, in jobs, when the provider does not simply answer: polling that
 * must go on until a decision, a provider that refuses, one that stays unavailable. Polls every
 * second; two attempts per job, each provider call tried once. No webhook reaches the app unless a
 * test points the fakes at it: only polling decides.
 */
const providers = useProviderFakes();
const h = useApp(() => ({ ...providers.env(), KYC_POLL_INTERVAL_S: "1", JOBS_ATTEMPTS: "2", JOBS_BACKOFF_MS: "100", KYC_PROVIDER_MAX_ATTEMPTS: "1" }));
const kyc = kycUser(h);
let cases: Record<ProviderCase["name"], ProviderCase>;
beforeAll(() => {
  cases = providerCases(h, providers.fakes);
});

/** What compliance was told of verification `id`'s escalation: the notification, the event and the audit record. */
async function escalationOf(id: string) {
  const notice = await h.queues.waitFor("notifications", (job) => job.name === "kyc-review-escalated" && (job.data as { params: { verificationId: string } }).params.verificationId === id);
  const event = await h.queues.waitFor("user-events", (job) => job.name === "kyc.escalated" && (job.data as { data: { verificationId: string } }).data.verificationId === id);
  const [audit] = await h.auditedAtLeast(1, { action: "kyc.escalate", subjectId: id });
  return { notice: notice.data as { to: string; params: Record<string, string> }, event: (event.data as { data: Record<string, unknown> }).data, audit };
}

describe("polling goes on while the verification is IN_REVIEW", () => {
  it("the provider's clock behind ours: its news is ordered by its own times (the submission seeds none), and polling finds the decision", async () => {
    const p = cases.SUMSUB;
    const user = await h.signedIn();
    const changes = await kyc.watching(user);
    h.clock.offsetMs = 60_000;
    const id = await kyc.submitted(user, "SUMSUB");
    const handle = await p.reached({ id, email: user.email }, [passport, selfie]);
    providers.fakes.sumsub.review(handle, { answer: "GREEN" });
    await changes.received(2);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
  });

  it("a poll whose news is older than a webhook's (Sumsub's status is to the second, its webhooks to the millisecond) ignores it and polls again, until the decision", async () => {
    const p = cases.SUMSUB;
    const { sumsub } = providers.fakes;
    const user = await h.signedIn();
    const changes = await kyc.watching(user);
    sumsub.setWebhookUrl(`${h.t.baseUrl}${p.path}`);
    let handle: string;
    try {
      const id = await kyc.submitted(user, "SUMSUB");
      handle = await p.reached({ id, email: user.email }, [passport, selfie]);
      await waitUntil("applicantPending applied", () => h.prisma.kycWebhookDelivery.findFirst({ where: { provider: "SUMSUB", deliveryId: { startsWith: "sumsub:applicantPending:" }, processedAt: { not: null }, notice: { path: ["ref", "applicantId"], equals: handle } } }));
    } finally {
      sumsub.setWebhookUrl(undefined);
    }
    // A poll after the webhook: its IN_REVIEW is stamped with the second of the check, before the webhook's millisecond.
    const reads = () => sumsub.requests.filter(p.isStatusRead(handle)).length;
    const before = reads();
    await waitUntil("a poll after the webhook", async () => reads() > before);
    sumsub.review(handle, { answer: "GREEN" });
    await changes.received(2);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
  });
});

describe("a check job that cannot get through hands the verification to manual review", () => {
  it("a provider refusing the request (Onfido: a passport under its 2 KB) escalates at once, with the reason; the job is not retried", async () => {
    const user = await h.signedIn();
    const logsBefore = h.t.logs().length;
    const id = await kyc.submitted(user, "ONFIDO", [{ ...passport, content: bytesOfSize("image/png", 1024) }]);
    const { notice, event, audit } = await escalationOf(id);
    const reason = expect.stringMatching(/^Onfido uploadDocument refused: HTTP 422 validation_error/);
    expect(notice).toMatchObject({ to: "compliance@localhost", params: { verificationId: id, level: "BASIC", provider: "ONFIDO", reason } });
    expect(event).toMatchObject({ verificationId: id, provider: "ONFIDO", reason });
    expect(audit).toMatchObject({ actorType: "system", metadata: { reason } });
    expect(await kyc.mine(user)).toMatchObject({ id, status: "IN_REVIEW" });
    expect((await h.prisma.kycVerification.findUniqueOrThrow({ where: { id } })).escalatedAt).not.toBeNull();
    const jobFailures = h.t.logs().slice(logsBefore).filter((line) => line.job === "kyc.check" && String(line.msg).startsWith("job failed"));
    expect(jobFailures).toEqual([]);
  });

  it("a provider unavailable through every attempt of the job (Sumsub down) escalates once the job gives up, with the reason", async () => {
    const user = await h.signedIn();
    const logsBefore = h.t.logs().length;
    await providers.fakes.sumsub.down();
    try {
      const id = await kyc.submitted(user, "SUMSUB");
      const { notice, event } = await escalationOf(id);
      const reason = expect.stringMatching(/^the provider could not be reached: .*SUMSUB createApplicant unavailable after 1 attempt\(s\): Sumsub createApplicant got no answer: ECONNREFUSED/);
      expect(notice.params).toMatchObject({ verificationId: id, provider: "SUMSUB", reason });
      expect(event).toMatchObject({ verificationId: id, reason });
      expect(h.t.logs().slice(logsBefore).filter((line) => line.job === "kyc.check" && line.msg === "job failed for good")).toHaveLength(1);
    } finally {
      await providers.fakes.sumsub.up();
    }
  });
});
