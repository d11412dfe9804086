import type { Delivery } from "../support/fakes/fake-server";
import { ReviewVerificationDocument, SubmitVerificationDocument } from "../support/generated/operations";
import { metricValue } from "../support/graphql";
import { useApp, type SignedIn } from "../support/harness";
import { kycUser, passport, providerCases, selfie, statusesOf, useProviderFakes, withheld, type ProviderCase, type UploadInput } from "../support/kyc-providers";
import { waitUntil } from "../support/wait";

const providers = useProviderFakes();
// Only a webhook can decide: the first poll would come an hour after the check. Two attempts per
// provider call, so that three 429s in a row fail the job once and its retry gets through.
const h = useApp(() => ({ ...providers.env(), KYC_POLL_INTERVAL_S: "3600", KYC_PROVIDER_MAX_ATTEMPTS: "2" }));
beforeAll(() => providers.webhooksTo(h.t.baseUrl));
const kyc = kycUser(h);
let cases: Record<ProviderCase["name"], ProviderCase>;
beforeAll(() => {
  cases = providerCases(h, providers.fakes);
});

/** The delivery id the app records for `delivery` (the adapter's own reading of it). */
const deliveryIdOf = (p: ProviderCase, delivery: Delivery) => p.adapter.parseWebhook(Buffer.from(delivery.body), delivery.headers, Date.now())?.deliveryId as string;

/** The app's record of a delivery, once processed. */
const processed = (p: ProviderCase, delivery: Delivery) =>
  waitUntil(`${delivery.event} processed`, () => h.prisma.kycWebhookDelivery.findFirst({ where: { provider: p.name, deliveryId: deliveryIdOf(p, delivery), processedAt: { not: null } } }));

/** The `kyc.status_changed` events to `to` of a user: in the outbox, and on the user-events queue. */
async function statusChanges(user: SignedIn, to: string): Promise<{ outbox: number; queued: number }> {
  const outbox = await h.prisma.outboxEvent.count({ where: { destination: "user-events", name: "kyc.status_changed", aggregateId: user.user.id, payload: { path: ["data", "to"], equals: to } } });
  const events = (await h.queues.jobs("user-events")).filter((j) => j.name === "kyc.status_changed").map((j) => j.data as { aggregateId: string; data: { to: string } });
  return { outbox, queued: events.filter((e) => e.aggregateId === user.user.id && e.data.to === to).length };
}

/** Where `user`'s latest verification says the user completes the provider's own flow. */
async function providerUrlOf(user: SignedIn): Promise<string | null | undefined> {
  const mine = await h.gql<{ myVerification: { providerUrl: string | null } }, unknown>("{ myVerification { providerUrl } }", {}, user.headers);
  expect(mine.errors).toBeUndefined();
  return mine.data?.myVerification.providerUrl;
}

/** A compliance reviewer asks for new documents. */
async function resubmissionRequested(verificationId: string, reason: string): Promise<void> {
  const reviewer = await h.withRole("compliance");
  const reviewed = await h.gql(ReviewVerificationDocument, { input: { verificationId, decision: "REQUEST_RESUBMISSION" as never, reason } }, reviewer.headers);
  expect(reviewed.data?.reviewVerification).toEqual({ id: verificationId, status: "RESUBMISSION_REQUIRED", reason });
}

/** Documents again, and the verification submitted again. */
async function resubmitted(user: SignedIn, id: string, documents: UploadInput[]): Promise<void> {
  await kyc.uploaded(user, id, documents);
  expect((await h.gql(SubmitVerificationDocument, { id }, user.headers)).data).toEqual({ submitVerification: { id, status: "IN_REVIEW" } });
}

/** A new user watching their changes, with a verification at `p` submitted and arrived at the provider. */
async function atProvider(p: ProviderCase) {
  const user = await h.signedIn();
  const changes = await kyc.watching(user);
  const id = await kyc.submitted(user, p.name);
  const handle = await p.reached({ id, email: user.email }, [passport, selfie]);
  return { user, changes, id, handle };
}

describe.each(["SUMSUB", "ONFIDO", "STRIPE_IDENTITY"] as const)("%s through the app, its fake deciding", (name) => {
  let p: ProviderCase;
  beforeAll(() => {
    p = cases[name];
  });

  it("the job creates the applicant, sends the documents and asks for the check; the provider's signed webhook decides and the subscriber receives APPROVED", async () => {
    const { user, changes, id, handle } = await atProvider(p);
    // Stripe's hosted flow is where the user shows the documents: the verification says where it is.
    expect(await providerUrlOf(user)).toBe(name === "STRIPE_IDENTITY" ? (providers.fakes.stripe.state.sessions.get(handle)?.url as string) : null);
    const since = p.fake.requests.length;
    p.approve(handle);
    const [inReview, approved] = await changes.received(2);
    expect(inReview?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "IN_REVIEW", reason: null, occurredAt: expect.any(String) } });
    expect(approved?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "APPROVED", reason: null, occurredAt: expect.any(String) } });
    expect(await kyc.mine(user)).toMatchObject({ id, status: "APPROVED", provider: name, reason: null, documents: [{ type: "PASSPORT", status: "SUBMITTED" }, { type: "SELFIE", status: "SUBMITTED" }] });
    // Onfido's check.completed says only that the check is done: the app asked for the result.
    // The others' webhooks carry the verdict, and nothing polled.
    const statusReads = p.fake.requests.slice(since).filter(p.isStatusRead(handle));
    expect(statusReads.length > 0).toBe(p.decisionNeedsStatusRead);
    const [record] = await h.auditedAtLeast(1, { action: "kyc.status_change", subjectId: id, metadata: { path: ["to"], equals: "APPROVED" } });
    expect(record?.metadata).toMatchObject({ from: "IN_REVIEW", to: "APPROVED", by: "provider" });
  });

  it("a replayed decision webhook (the same bytes and headers) changes the state once", async () => {
    const { user, changes, handle } = await atProvider(p);
    p.approve(handle);
    await changes.received(2);
    await p.fake.webhooks.idle();
    const decision = p.fake.webhooks.deliveries.find((d) => d.event === p.events.decision && d.body.includes(handle)) as Delivery;
    expect(decision.status).toBe(200);
    expect((await processed(p, decision)).outcome).toBe("applied");

    const replay = await kyc.post(p.path, decision.body, decision.headers);
    expect(replay).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(await h.prisma.kycWebhookDelivery.count({ where: { provider: p.name, deliveryId: deliveryIdOf(p, decision) } })).toBe(1);
    await waitUntil("the approval on the user-events queue", async () => (await statusChanges(user, "APPROVED")).queued > 0);
    expect(await statusChanges(user, "APPROVED")).toEqual({ outbox: 1, queued: 1 });
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
  });

  it("a forged webhook (another key's signature, bytes changed after signing, no signature; for Stripe a stale timestamp) is 401 and changes nothing; the genuine one then decides", async () => {
    const { user, changes, id, handle } = await atProvider(p);
    const [genuine] = (await withheld(p.fake.webhooks, () => p.approve(handle))).filter((d) => d.event === p.events.decision);
    if (!genuine) throw new Error(`the fake emitted no ${p.events.decision}`);
    const deliveriesBefore = await h.prisma.kycWebhookDelivery.count({ where: { provider: p.name } });
    const forgeries = [
      { what: "signed with another key", body: genuine.body, headers: p.sign(genuine.body, `${p.secret}-not`) },
      { what: "changed after signing", body: `${genuine.body} `, headers: genuine.headers },
      { what: "unsigned", body: genuine.body, headers: {} },
      // Stripe signs a timestamp: a delivery captured and replayed later is refused.
      ...(p.toleranceSeconds === null ? [] : [{ what: "signed too long ago", body: genuine.body, headers: p.sign(genuine.body, p.secret, Math.floor(Date.now() / 1000) - p.toleranceSeconds - 1) }]),
    ];
    for (const { what, body, headers } of forgeries) {
      const answer = await kyc.post(p.path, body, headers);
      expect({ what, ...answer }).toEqual({ what, status: 401, body: { error: "the signature does not match" } });
    }
    expect(await h.prisma.kycWebhookDelivery.count({ where: { provider: p.name } })).toBe(deliveriesBefore);
    expect(await kyc.mine(user)).toMatchObject({ id, status: "IN_REVIEW" });
    expect(statusesOf(changes)).toEqual(["IN_REVIEW"]);

    expect(await kyc.post(p.path, genuine.body, genuine.headers)).toEqual({ status: 200, body: { received: true, duplicate: false } });
    await changes.received(2);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
  });

  it("the decision, then an older in-review webhook delivered late: the verification stays decided", async () => {
    const user = await h.signedIn();
    const changes = await kyc.watching(user);
    let handle = "";
    let id = "";
    const withheldDeliveries = await withheld(p.fake.webhooks, async () => {
      id = await kyc.submitted(user, p.name);
      handle = await p.reached({ id, email: user.email }, [passport, selfie]);
      p.approve(handle);
    });
    const older = withheldDeliveries.find((d) => d.event === p.events.inReview) as Delivery;
    const decision = withheldDeliveries.find((d) => d.event === p.events.decision) as Delivery;
    expect([older, decision].map((d) => d?.event)).toEqual([p.events.inReview, p.events.decision]);

    expect((await kyc.post(p.path, decision.body, decision.headers)).status).toBe(200);
    await changes.received(2);
    expect((await kyc.post(p.path, older.body, older.headers)).body).toEqual({ received: true, duplicate: false });
    expect((await processed(p, older)).outcome).toBe("ignored: the verification is APPROVED");
    expect(await kyc.mine(user)).toMatchObject({ id, status: "APPROVED" });
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
  });

  it("a provider rate-limiting (429, Retry-After: 1) is retried, by the call and then by the job, until it answers", async () => {
    const creates = () => p.fake.requests.filter(p.isCreate).length;
    const failures = () => metricValue(h.t.baseUrl, "kyc_provider_failures_total", { provider: p.name, call: "createApplicant", reason: "unavailable" });
    const [createsBefore, failuresBefore, logsBefore] = [creates(), await failures(), h.t.logs().length];
    p.fake.failNext(3, 429, 1);
    const { user, changes, id, handle } = await atProvider(p);
    // Two attempts refused (the job fails), then the job's retry: one refused, one through.
    expect(creates() - createsBefore).toBe(4);
    expect((await failures()) - failuresBefore).toBe(3);
    expect(h.t.logs().slice(logsBefore).filter((line) => line.msg === "job failed; retried later" && line.job === "kyc.check")).toHaveLength(1);
    p.approve(handle);
    await changes.received(2);
    expect(await kyc.mine(user)).toMatchObject({ id, status: "APPROVED", provider: name });
  });
});

describe("Sumsub: a resubmission request, and a late copy of that decision while the second attempt is in review", () => {
  it("RED/RETRY reaches the subscriber as RESUBMISSION_REQUIRED with Sumsub's comment; the copy, older than the resubmission, decides nothing; GREEN then approves", async () => {
    const p = cases.SUMSUB;
    const { sumsub } = providers.fakes;
    const { user, changes, id, handle } = await atProvider(p);
    sumsub.review(handle, { answer: "RED", rejectType: "RETRY", labels: ["UNSATISFACTORY_PHOTOS"], comment: "The passport photo is blurred" });
    const [, resubmit] = await changes.received(2);
    expect(resubmit?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "RESUBMISSION_REQUIRED", reason: "The passport photo is blurred", occurredAt: expect.any(String) } });
    const risk = await h.queues.waitFor("user-events", (job) => job.name === "risk.score_updated" && (job.data as { aggregateId: string }).aggregateId === user.user.id);
    expect((risk.data as { data: unknown }).data).toEqual({ verificationId: id, level: "BASIC", provider: "SUMSUB", score: null, labels: ["UNSATISFACTORY_PHOTOS"] });
    await p.fake.webhooks.idle();
    const firstDecision = p.fake.webhooks.deliveries.find((d) => d.event === p.events.decision && d.body.includes(handle)) as Delivery;

    // A new photo, submitted again: the second attempt is an applicant of its own, with the new photo.
    const retaken = { ...passport, fileName: "passport-retaken.png" };
    await resubmitted(user, id, [retaken]);
    const second = await p.reached({ id, email: user.email }, [retaken], 2);
    expect(second).not.toBe(handle);
    await changes.received(3);

    // The first attempt's decision once more, under another delivery id (as if re-sent re-serialised), correctly signed: it names the first applicant.
    const body = JSON.stringify({ ...(JSON.parse(firstDecision.body) as object), correlationId: "req-a-late-copy" });
    const late = { ...firstDecision, body, headers: p.sign(body, p.secret) };
    expect(await kyc.post(p.path, late.body, late.headers)).toEqual({ status: 200, body: { received: true, duplicate: false } });
    expect((await processed(p, late)).outcome).toBe("ignored: no verification of this service");
    expect(await kyc.mine(user)).toMatchObject({ id, status: "IN_REVIEW", reason: null });

    sumsub.review(second, { answer: "GREEN" });
    await changes.received(4);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "RESUBMISSION_REQUIRED", "IN_REVIEW", "APPROVED"]);
    expect(await kyc.mine(user)).toMatchObject({ id, status: "APPROVED", reason: null, documents: [{ status: "SUBMITTED" }, { status: "SUBMITTED" }, { status: "SUBMITTED" }] });
  });
});

describe("each submission attempt is an applicant of its own at the provider", () => {
  it("Stripe: compliance asks for new documents while the first session is open; that session's late `verified` decides nothing, the second attempt's session decides", async () => {
    const p = cases.STRIPE_IDENTITY;
    const { user, changes, id, handle } = await atProvider(p);
    await resubmissionRequested(id, "Show the whole document");
    await resubmitted(user, id, [passport]);
    const second = await p.reached({ id, email: user.email }, [passport], 2);
    expect(second).not.toBe(handle);
    expect(await providerUrlOf(user)).toBe(providers.fakes.stripe.state.sessions.get(second)?.url as string);
    await changes.received(3);

    // The user finishes the first session's flow after all, and Stripe verifies the first attempt's documents.
    p.approve(handle);
    await p.fake.webhooks.idle();
    const late = p.fake.webhooks.deliveries.find((d) => d.event === p.events.decision && d.body.includes(handle)) as Delivery;
    expect((await processed(p, late)).outcome).toBe("ignored: no verification of this service");
    expect(await kyc.mine(user)).toMatchObject({ id, status: "IN_REVIEW" });

    p.approve(second);
    await changes.received(4);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "RESUBMISSION_REQUIRED", "IN_REVIEW", "APPROVED"]);
  });

  it("Onfido: the check job run again (a redelivered job) asks for no second check", async () => {
    const p = cases.ONFIDO;
    const { id, handle } = await atProvider(p);
    const { applicantId } = await h.prisma.kycVerification.findUniqueOrThrow({ where: { id } });
    const jobId = `check-again-${id}`;
    await h.t.app.platform.jobs.enqueue("kyc.check", { verificationId: id, attempt: 1 }, { jobId });
    await h.queues.finished("identity-jobs", jobId);
    expect([...providers.fakes.onfido.state.checks.values()].filter((c) => c.applicant_id === applicantId).map((c) => c.id)).toEqual([handle]);
  });
});

describe("the check job sends only what is still to be sent", () => {
  it("Sumsub: compliance asks for new documents while the first upload is on its way: the job sends no other document and asks for no check", async () => {
    const { sumsub } = providers.fakes;
    const user = await h.signedIn();
    const held = sumsub.holdNext((r) => r.method === "POST" && r.path.endsWith("/info/idDoc"));
    const id = await kyc.submitted(user, "SUMSUB");
    await held.arrived;
    await resubmissionRequested(id, "A selfie in daylight, please");
    await kyc.uploaded(user, id, [selfie]);
    held.release();
    await h.queues.finished("identity-jobs", `check-${id}-1`);
    const applicant = [...sumsub.applicants.values()].find((a) => a.externalUserId === `${id}-1`);
    expect(applicant?.documents).toHaveLength(1);
    expect(applicant?.reviewStatus).toBe("init");
    const documents = await h.prisma.kycDocument.findMany({ where: { verificationId: id }, orderBy: { createdAt: "asc" } });
    expect(documents.map((d) => [d.type, d.attempt, d.status])).toEqual([
      ["PASSPORT", 1, "SUBMITTED"],
      ["SELFIE", 1, "UPLOADED"],
      ["SELFIE", 2, "UPLOADED"],
    ]);
  });
});

describe("Sumsub: a comment longer than the reason's 500 characters", () => {
  it("is cut to 500 (the last one an ellipsis) rather than failing the webhook", async () => {
    const p = cases.SUMSUB;
    const { changes, id, handle } = await atProvider(p);
    const comment = "The photo of the passport is blurred; please take it again in daylight. ".repeat(10);
    expect(comment.length).toBeGreaterThan(500);
    providers.fakes.sumsub.review(handle, { answer: "RED", rejectType: "RETRY", comment });
    const [, resubmit] = await changes.received(2);
    expect(resubmit?.data).toMatchObject({ verificationStatusChanged: { verificationId: id, status: "RESUBMISSION_REQUIRED", reason: `${comment.slice(0, 499)}…` } });
  });
});

describe("Stripe Identity: `created` is whole seconds", () => {
  afterEach(() => providers.stopStripeClockAt(null));

  it("a decision made in the very second of the submission is applied, not taken for news older than the submission", async () => {
    const p = cases.STRIPE_IDENTITY;
    const user = await h.signedIn();
    const changes = await kyc.watching(user);
    const id = await kyc.submitted(user, p.name);
    const { submittedAt } = await h.prisma.kycVerification.findUniqueOrThrow({ where: { id } });
    // Stripe's events now say `created` = the second of the submission, which the app stamped to the millisecond.
    providers.stopStripeClockAt((submittedAt as Date).getTime());
    p.approve(await p.reached({ id, email: user.email }, [passport, selfie]));
    await changes.received(2);
    expect(statusesOf(changes)).toEqual(["IN_REVIEW", "APPROVED"]);
  });
});
