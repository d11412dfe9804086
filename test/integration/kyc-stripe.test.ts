import { createHmac, randomUUID } from "node:crypto";
import Stripe from "stripe";
import type { KycLevel } from "../../src/modules/kyc/kyc.model";
import { WebhookSignatureError, type ApplicantRequest, type ProviderDocument, type WebhookNotice } from "../../src/modules/kyc/providers/provider";
import { formEncode, StripeIdentityProvider } from "../../src/modules/kyc/providers/stripe-identity";
import { ProviderUnavailableError } from "../../src/platform/http/provider-http";
import { webhookReceiverPerTest } from "../support/fakes/fake-server";
import { describeOutages } from "../support/fakes/outages";
import { startFakeStripe, type FakeStripe, type FakeStripeOptions } from "../support/fakes/stripe";
import { waitUntil } from "../support/wait";

const SECRET_KEY = "sk_test_fake51Qx7identity";
const WEBHOOK_SECRET = "whsec_fake7c1d2e3f";

const signal = () => AbortSignal.timeout(15_000);
const applicant = (verificationId: string, level: KycLevel = "ENHANCED"): ApplicantRequest => ({ verificationId, reference: `${verificationId}-1`, userId: "user-1", email: "alice@example.com", level });
const passport: ProviderDocument = { documentId: randomUUID(), type: "PASSPORT", fileName: "passport.jpg", mime: "image/jpeg", content: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(2_000, 1)]) };
/** The official client as an oracle: its signer and verifier, and (pointed at the fake) its requests. */
const stripeClient = (fake: FakeStripe, key = SECRET_KEY) => new Stripe(key, { host: "127.0.0.1", port: new URL(fake.url).port, protocol: "http", maxNetworkRetries: 0 });
const oracle = new Stripe("sk_test_x");

const receiver = webhookReceiverPerTest();
let fake: FakeStripe;
let stripe: StripeIdentityProvider;

async function start(options: Partial<FakeStripeOptions> = {}): Promise<void> {
  await fake?.close();
  fake = await startFakeStripe({ secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiver.url, ...options });
  stripe = new StripeIdentityProvider({ apiBaseUrl: fake.url, secretKey: SECRET_KEY, webhookSecret: WEBHOOK_SECRET, returnUrl: "https://app.example.com/kyc/done" });
}

beforeEach(() => start());
afterEach(() => fake.close());

const received = (now = Date.now()) => receiver.received.map((r) => stripe.parseWebhook(r.body, r.headers, now));
const types = () => receiver.received.map((r) => (JSON.parse(r.body.toString()) as { type: string }).type);

describe("the Stripe Identity adapter against the fake", () => {
  it("end to end: the attempt's session and its hosted page, the user's turn, processing, verified, read by getStatus and announced by signed webhooks", async () => {
    const ref = await stripe.createApplicant(applicant("ver-1"), signal());
    // The hosted flow's page, where the user proves who they are.
    expect(ref).toEqual({ applicantId: expect.stringMatching(/^vs_/), checkId: null, url: fake.state.sessions.get(ref.applicantId)?.url });
    expect(ref.url).toMatch(/^https:\/\/verify\.stripe\.com\/start\//);
    const create = fake.requests[0];
    expect(create?.headers["idempotency-key"]).toBe("kyc-verification-session-ver-1-1");
    expect(create?.body.toString()).toBe(
      formEncode({ type: "document", client_reference_id: "ver-1-1", metadata: { verification_id: "ver-1", reference: "ver-1-1" }, options: { document: { require_matching_selfie: true } }, return_url: "https://app.example.com/kyc/done" }),
    );
    expect(fake.state.sessions.get(ref.applicantId)).toMatchObject({ client_reference_id: "ver-1-1", metadata: { verification_id: "ver-1", reference: "ver-1-1" }, options: { document: { require_matching_selfie: true } }, status: "requires_input", type: "document" });

    // Stripe reads no document of ours (the hosted flow collects them): nothing is sent.
    const requests = fake.requests.length;
    await stripe.uploadDocument(ref, passport, signal());
    expect(fake.requests).toHaveLength(requests);
    expect(fake.state.files.size).toBe(0);

    // No submit call at Stripe: requestCheck reads the session and answers the ref as it was.
    expect(await stripe.requestCheck(ref, signal())).toEqual(ref);
    expect(await stripe.getStatus(ref, signal())).toEqual({ status: "IN_REVIEW", reason: null, occurredAt: expect.any(Number), risk: null });
    fake.submitSession(ref.applicantId);
    expect(await stripe.getStatus(ref, signal())).toMatchObject({ status: "IN_REVIEW" });
    fake.decide(ref.applicantId, "verified");
    expect(await stripe.getStatus(ref, signal())).toEqual({ status: "APPROVED", reason: null, occurredAt: expect.any(Number), risk: null });

    await fake.webhooks.idle();
    expect(types()).toEqual(["identity.verification_session.created", "identity.verification_session.processing", "identity.verification_session.verified"]);
    const [created, processing, verified] = received();
    expect(created).toBeNull(); // says nothing of a decision
    const events = fake.state.events;
    expect(processing).toEqual({ deliveryId: events[1]?.id, ref: { applicantId: ref.applicantId }, occurredAt: (events[1]?.created as number) * 1000 + 999, verdict: expect.objectContaining({ status: "IN_REVIEW" }) });
    expect(verified).toEqual({ deliveryId: events[2]?.id, ref: { applicantId: ref.applicantId }, occurredAt: (events[2]?.created as number) * 1000 + 999, verdict: expect.objectContaining({ status: "APPROVED" }) });
    // The oracle: stripe-node's verifier accepts what the fake signed.
    for (const r of receiver.received) expect(oracle.webhooks.constructEvent(r.body, String(r.headers["stripe-signature"]), WEBHOOK_SECRET).id).toEqual(expect.stringMatching(/^evt_/));
  });

  it("a failed attempt goes back to requires_input with last_error: RESUBMISSION_REQUIRED in neutral words, the code in the risk signals; the next attempt can pass", async () => {
    const ref = await stripe.createApplicant(applicant("ver-2", "BASIC"), signal());
    expect(fake.state.sessions.get(ref.applicantId)?.options).toEqual({ document: {} });
    fake.submitSession(ref.applicantId);
    fake.decide(ref.applicantId, { code: "document_expired", reason: "The document is expired." });
    const expected = { status: "RESUBMISSION_REQUIRED", reason: "Please upload clearer documents", risk: { score: null, labels: ["document_expired"] } };
    expect(await stripe.getStatus(ref, signal())).toMatchObject(expected);
    await fake.webhooks.idle();
    expect(received().at(-1)?.verdict).toMatchObject(expected);
    fake.submitSession(ref.applicantId);
    fake.decide(ref.applicantId, "verified");
    expect(await stripe.getStatus(ref, signal())).toMatchObject({ status: "APPROVED" });
  });

  it("canceled (only from requires_input) is no judgement of the person: RESUBMISSION_REQUIRED with a reason", async () => {
    const ref = await stripe.createApplicant(applicant("ver-3"), signal());
    const client = stripeClient(fake);
    await client.identity.verificationSessions.cancel(ref.applicantId);
    const canceled = { status: "RESUBMISSION_REQUIRED", reason: "The verification was canceled: please submit your documents again" };
    expect(await stripe.getStatus(ref, signal())).toMatchObject(canceled);
    await fake.webhooks.idle();
    expect(received().at(-1)).toMatchObject({ ref: { applicantId: ref.applicantId }, verdict: canceled });
    const processing = await stripe.createApplicant(applicant("ver-4"), signal());
    fake.submitSession(processing.applicantId);
    await expect(client.identity.verificationSessions.cancel(processing.applicantId)).rejects.toMatchObject({ type: "StripeInvalidRequestError", statusCode: 400 });
  });

  it("a retried create is the same session (Idempotency-Key); other parameters under the same key are refused, not retried", async () => {
    const first = await stripe.createApplicant(applicant("ver-5"), signal());
    expect(await stripe.createApplicant(applicant("ver-5"), signal())).toEqual(first);
    expect(fake.state.sessions.size).toBe(1);
    const refused = await stripe.createApplicant(applicant("ver-5", "BASIC"), signal()).catch((e: unknown) => e);
    expect(refused).not.toBeInstanceOf(ProviderUnavailableError);
    expect((refused as Error).message).toMatch(/^Stripe Identity createApplicant refused: HTTP 400 idempotency_error: Keys for idempotent requests/);
  });

  it("autoDecide: once the session is read, the fake plays the user (in the hosted flow) and Stripe, and the webhook says so", async () => {
    await start({ autoDecide: { afterMs: 50, decide: () => "verified" } });
    const ref = await stripe.createApplicant(applicant("ver-6"), signal());
    await stripe.requestCheck(ref, signal());
    const notice = await waitUntil("the verified webhook", async () => received().find((n) => n?.verdict?.status === "APPROVED"));
    expect(notice.ref).toEqual({ applicantId: ref.applicantId });
    expect(await stripe.getStatus(ref, signal())).toMatchObject({ status: "APPROVED" });
  });

  it("duplicate and out-of-order deliveries: a duplicate has the same delivery id, and occurredAt orders what arrived out of order", async () => {
    let clock = Date.parse("2026-12-01T10:00:00.000Z");
    await start({ deliverTwice: true, outOfOrder: true, now: () => (clock += 1000) });
    const ref = await stripe.createApplicant(applicant("ver-7"), signal());
    fake.webhooks.flush(); // `created` alone
    fake.submitSession(ref.applicantId);
    fake.decide(ref.applicantId, "verified");
    await fake.webhooks.idle();
    expect(types().map((t) => t.split(".").at(-1))).toEqual(["created", "created", "verified", "verified", "processing", "processing"]);
    const [verified, verifiedAgain, processing] = received().filter((n): n is WebhookNotice => n !== null) as [WebhookNotice, WebhookNotice, WebhookNotice];
    expect(verifiedAgain.deliveryId).toBe(verified.deliveryId);
    expect(processing.deliveryId).not.toBe(verified.deliveryId);
    expect(verified.occurredAt).toBeGreaterThan(processing.occurredAt);
  });

  it("a JSON body is refused as Stripe refuses it (form encoding only)", async () => {
    const response = await fetch(`${fake.url}/v1/identity/verification_sessions`, { method: "POST", headers: { authorization: `Bearer ${SECRET_KEY}`, "content-type": "application/json" }, body: JSON.stringify({ type: "document" }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { type: "invalid_request_error", message: expect.stringContaining("application/x-www-form-urlencoded") } });
    expect(fake.state.sessions.size).toBe(0);
  });

  it("a wrong or missing key is a 401 invalid_request_error, an Error naming the call (not retried)", async () => {
    const wrong = new StripeIdentityProvider({ apiBaseUrl: fake.url, secretKey: "sk_test_wrong", webhookSecret: WEBHOOK_SECRET });
    const refused = await wrong.createApplicant(applicant("ver-8"), signal()).catch((e: unknown) => e);
    expect(refused).not.toBeInstanceOf(ProviderUnavailableError);
    expect((refused as Error).message).toMatch(/^Stripe Identity createApplicant refused: HTTP 401 invalid_request_error: Invalid API Key provided: sk_test_\*\*\*\*rong$/);
    const missing = await fetch(`${fake.url}/v1/identity/verification_sessions/vs_x`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    await expect(stripe.getStatus({ applicantId: "vs_missing", checkId: null }, signal())).rejects.toThrow("Stripe Identity getStatus refused: HTTP 404 invalid_request_error: No such verification session: 'vs_missing' (session)");
  });
});

describe("Stripe webhook signatures (stripe-node as the oracle)", () => {
  const event = (type = "identity.verification_session.verified") => JSON.stringify({ id: "evt_1", object: "event", created: 1_800_000_000, type, data: { object: { id: "vs_1", object: "identity.verification_session", status: "verified", last_error: null } } });
  const header = (payload: string, options: { secret?: string; timestamp?: number } = {}) => oracle.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? WEBHOOK_SECRET, timestamp: options.timestamp });
  const parse = (payload: string, signature: string | undefined, now = Date.now()) => () => stripe.parseWebhook(Buffer.from(payload), signature === undefined ? {} : { "stripe-signature": signature }, now);

  it("accepts what generateTestHeaderString signs, and reads the event", () => {
    // `created` is whole seconds: the event is stamped with the last millisecond of its second.
    expect(parse(event(), header(event()))()).toEqual({ deliveryId: "evt_1", ref: { applicantId: "vs_1" }, occurredAt: 1_800_000_000_999, verdict: { status: "APPROVED", reason: null, occurredAt: 1_800_000_000_999, risk: null } });
    // Events that say nothing of a decision.
    for (const type of ["identity.verification_session.created", "identity.verification_session.redacted", "payment_intent.succeeded"]) expect(parse(event(type), header(event(type)))()).toBeNull();
  });

  it("accepts a header with several v1 signatures when one matches (a secret being rolled)", () => {
    const t = Math.floor(Date.now() / 1000);
    const v1 = (secret: string) => createHmac("sha256", secret).update(`${t}.${event()}`).digest("hex");
    expect(parse(event(), `t=${t},v1=${v1("whsec_old")},v1=${v1(WEBHOOK_SECRET)}`)()).toMatchObject({ deliveryId: "evt_1" });
    expect(parse(event(), `t=${t},v1=${v1("whsec_old")},v0=${v1(WEBHOOK_SECRET)}`)).toThrow(WebhookSignatureError);
  });

  it("refuses a forged or tampered delivery, a missing header, and a timestamp outside the 300 s tolerance", () => {
    const now = Date.now();
    const t = Math.floor(now / 1000);
    expect(parse(event(), header(event(), { secret: "whsec_other" }))).toThrow(WebhookSignatureError);
    expect(parse(event().replace("verified", "canceled"), header(event()))).toThrow(WebhookSignatureError);
    expect(parse(event(), undefined)).toThrow(WebhookSignatureError);
    expect(parse(event(), "v1=abc")).toThrow(WebhookSignatureError);
    expect(parse(event(), header(event(), { timestamp: t - 290 }), now)()).not.toBeNull();
    for (const timestamp of [t - 301, t + 301]) expect(parse(event(), header(event(), { timestamp }), now)).toThrow(/outside the 300 s tolerance/);
  });
});

describe("the fake against stripe-node (the official client as an oracle)", () => {
  it("creates and retrieves verification sessions as stripe-node sends and reads them", async () => {
    const client = stripeClient(fake);
    const session = await client.identity.verificationSessions.create({ type: "document", client_reference_id: "ver-9", metadata: { verification_id: "ver-9" }, options: { document: { require_matching_selfie: true } } });
    expect(session).toMatchObject({ object: "identity.verification_session", status: "requires_input", url: expect.stringMatching(/^https:\/\/verify\.stripe\.com\//), client_secret: expect.any(String) });
    fake.submitSession(session.id);
    fake.decide(session.id, { code: "selfie_face_mismatch" });
    expect(await client.identity.verificationSessions.retrieve(session.id)).toMatchObject({ status: "requires_input", last_error: { code: "selfie_face_mismatch" } });
    expect(await stripe.getStatus({ applicantId: session.id, checkId: null }, signal())).toMatchObject({ status: "RESUBMISSION_REQUIRED", risk: { labels: ["selfie_face_mismatch"] } });
    await expect(client.identity.verificationSessions.create({ type: "document", unknown_param: "x" } as Stripe.Identity.VerificationSessionCreateParams)).rejects.toMatchObject({ type: "StripeInvalidRequestError", message: "Received unknown parameter: unknown_param" });
    await expect(stripeClient(fake, "sk_test_wrong").identity.verificationSessions.retrieve(session.id)).rejects.toMatchObject({ type: "StripeAuthenticationError" });
  });
});

describeOutages("Stripe Identity", () => ({ fake, call: (s) => stripe.createApplicant(applicant(`ver-${randomUUID()}`), s) }));
