import { createHmac, randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { WebhookSignatureError, type ApplicantRequest, type ProviderDocument, type ProviderRef } from "../../src/modules/kyc/providers/provider";
import { ProviderRefusedError, ProviderUnavailableError } from "../../src/platform/http/provider-http";
import { SumsubProvider, type SumsubOptions } from "../../src/modules/kyc/providers/sumsub";
import { uniqueSuffix } from "../support/env";
import { webhookReceiverPerTest } from "../support/fakes/fake-server";
import { describeOutages } from "../support/fakes/outages";
import { DIGEST_HASHES, startFakeSumsub, type DigestAlg, type FakeSumsub, type FakeSumsubOptions } from "../support/fakes/sumsub";
import { waitUntil } from "../support/wait";

const CREDENTIALS = { appToken: "sbx:fake-app-token", secretKey: "fake-secret-key", webhookSecret: "fake-webhook-secret" };
/** A level name that must be encoded in the query (and signed as encoded). */
const LEVELS = { BASIC: "basic-kyc-level", ENHANCED: "enhanced kyc+poa" };
const EMAIL = "alice.tester@example.com";

const signal = () => AbortSignal.timeout(15_000);
const request = (over: Partial<ApplicantRequest> = {}): ApplicantRequest => {
  const verificationId = over.verificationId ?? `ver-${uniqueSuffix()}`;
  return { verificationId, reference: `${verificationId}-1`, userId: "user-1", email: EMAIL, level: "BASIC", ...over };
};
const document = (over: Partial<ProviderDocument> = {}): ProviderDocument => ({
  documentId: `doc-${uniqueSuffix()}`,
  type: "PASSPORT",
  fileName: "passport.png",
  mime: "image/png",
  content: Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), randomBytes(4096)]),
  ...over,
});

const typeOf = (body: Buffer) => (JSON.parse(body.toString("utf8")) as { type: string }).type;
/** A Sumsub date ("2020-02-21 13:23:19", UTC) as ms. */
const utc = (date: string | undefined) => Date.parse(`${String(date).replace(" ", "T")}Z`);

let fake: FakeSumsub;
const receiver = webhookReceiverPerTest();
let sumsub: SumsubProvider;
const adapter = (over: Partial<SumsubOptions> = {}) => new SumsubProvider({ baseUrl: fake.url, ...CREDENTIALS, levelNames: LEVELS, ...over });
const start = async (options: Partial<FakeSumsubOptions> = {}) => {
  fake = await startFakeSumsub({ ...CREDENTIALS, webhookUrl: receiver.url, ...options });
  sumsub = adapter();
};

/** An applicant with a passport, its check requested. */
async function submitted(): Promise<ProviderRef> {
  const ref = await sumsub.createApplicant(request(), signal());
  await sumsub.uploadDocument(ref, document(), signal());
  return sumsub.requestCheck(ref, signal());
}

beforeEach(() => start());
afterEach(() => fake.close());

describe("Sumsub adapter: applicants, documents and checks against the fake", () => {
  it("creates an applicant at the level's Sumsub name with the attempt's reference as externalUserId; creating it again answers the same applicant; the next attempt is an applicant of its own", async () => {
    const asked = request({ level: "ENHANCED" });
    const ref = await sumsub.createApplicant(asked, signal());
    expect(ref).toEqual({ applicantId: expect.stringMatching(/^[0-9a-f]{24}$/), checkId: null });
    expect(fake.applicants.get(ref.applicantId)).toMatchObject({ externalUserId: `${asked.verificationId}-1`, levelName: "enhanced kyc+poa", email: EMAIL, reviewStatus: "init" });
    // A retry after a lost answer: Sumsub answers 409, the adapter finds the first one.
    await expect(sumsub.createApplicant(asked, signal())).resolves.toEqual(ref);
    expect(fake.applicants.size).toBe(1);
    const next = await sumsub.createApplicant({ ...asked, reference: `${asked.verificationId}-2` }, signal());
    expect(next.applicantId).not.toBe(ref.applicantId);
    expect(fake.applicants.get(next.applicantId)?.externalUserId).toBe(`${asked.verificationId}-2`);
    const other = await sumsub.createApplicant(request(), signal());
    expect(other.applicantId).not.toBe(ref.applicantId);
  });

  it("uploads each document type as Sumsub's idDocType with its country, file name, type and exact bytes", async () => {
    const ref = await sumsub.createApplicant(request(), signal());
    const sent = (["PASSPORT", "ID_CARD", "DRIVERS_LICENSE", "SELFIE", "PROOF_OF_ADDRESS"] as const).map((type) => document({ type, fileName: `${type.toLowerCase()} "scan".pdf`, mime: "application/pdf" }));
    for (const d of sent) await sumsub.uploadDocument(ref, d, signal());
    await adapter({ country: "DEU" }).uploadDocument(ref, document(), signal());
    const stored = fake.applicants.get(ref.applicantId)?.documents ?? [];
    expect(stored.map((d) => [d.idDocType, d.country])).toEqual([
      ["PASSPORT", "GBR"],
      ["ID_CARD", "GBR"],
      ["DRIVERS", "GBR"],
      ["SELFIE", "GBR"],
      ["UTILITY_BILL", "GBR"],
      ["PASSPORT", "DEU"],
    ]);
    // Quoted as browsers quote form data, and read back as the name it was.
    expect(stored[0]?.fileName).toBe('passport "scan".pdf');
    expect(stored[0]?.mime).toBe("application/pdf");
    for (const [i, d] of sent.entries()) expect(stored[i]?.content.equals(d.content)).toBe(true);
  });

  it("SECURITY: a body changed after signing, a wrong secret, a wrong token or a clock off by more than a minute is refused 401, and nothing changes", async () => {
    const ref = await sumsub.createApplicant(request(), signal());
    const passport = document();
    // One bit of the document flipped on the way: the signature covered the multipart bytes.
    const tampering: typeof fetch = (url, init) => {
      const body = Buffer.from(init?.body as Buffer);
      const at = body.indexOf(passport.content) + 100;
      body[at] = (body[at] as number) ^ 1;
      return fetch(url, { ...init, body });
    };
    await expect(adapter({ fetch: tampering }).uploadDocument(ref, passport, signal())).rejects.toThrow(/^Sumsub uploadDocument refused: HTTP 401 Request signature mismatch \(correlationId req-/);
    await expect(adapter({ secretKey: "another-secret" }).uploadDocument(ref, passport, signal())).rejects.toThrow("Request signature mismatch");
    await expect(adapter({ appToken: "sbx:another-token" }).getStatus(ref, signal())).rejects.toThrow("Sumsub getStatus refused: HTTP 401 Invalid App Token");
    await expect(adapter({ now: () => Date.now() - 120_000 }).requestCheck(ref, signal())).rejects.toThrow("HTTP 401 Request timestamp is out of the allowed range");
    // Within the minute Sumsub allows, the request passes.
    await adapter({ now: () => Date.now() - 30_000 }).uploadDocument(ref, passport, signal());
    expect(fake.applicants.get(ref.applicantId)?.documents).toHaveLength(1);
    expect(fake.applicants.get(ref.applicantId)?.reviewStatus).toBe("init");
    // The refusal is a refusal, not an outage: nothing to retry.
    const refusal = await adapter({ secretKey: "another-secret" })
      .createApplicant(request(), signal())
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ProviderRefusedError);
    expect(refusal).not.toBeInstanceOf(ProviderUnavailableError);
    expect((refusal as Error).message).not.toContain(EMAIL);
  });

  it("never passes on the email or document bytes Sumsub echoes in a refusal", async () => {
    const error = (await sumsub.createApplicant(request({ email: "alice@nowhere" }), signal()).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^Sumsub createApplicant refused: HTTP 400 Invalid email: \[redacted\]/);
    expect(error.message).not.toContain("alice@nowhere");
  });

  it("asking for a check without documents is refused with Sumsub's reason; with one, the applicant goes pending, and asking again succeeds without a second check", async () => {
    const ref = await sumsub.createApplicant(request(), signal());
    await expect(sumsub.requestCheck(ref, signal())).rejects.toThrow(/^Sumsub requestCheck refused: HTTP 409 The applicant has no documents to check/);
    await sumsub.uploadDocument(ref, document(), signal());
    await expect(sumsub.requestCheck(ref, signal())).resolves.toEqual(ref);
    expect(fake.applicants.get(ref.applicantId)?.reviewStatus).toBe("pending");
    // The retry of a request whose answer was lost: Sumsub refuses it, the applicant is under review, so it is done.
    await expect(sumsub.requestCheck(ref, signal())).resolves.toEqual(ref);
    await fake.webhooks.idle();
    expect(fake.webhooks.deliveries.map((d) => d.event)).toEqual(["applicantPending"]);
    expect(fake.applicants.get(ref.applicantId)?.attemptCnt).toBe(1);
  });

  it("an unknown applicant is Sumsub refusing (404), not an outage", async () => {
    const error = await sumsub.getStatus({ applicantId: "000000000000000000000000", checkId: null }, signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).status).toBe(404);
    expect((error as Error).message).toMatch(/^Sumsub getStatus refused: HTTP 404 Applicant not found/);
  });
});

describe("Sumsub adapter: reviews read by getStatus", () => {
  it.each([
    ["GREEN", { answer: "GREEN" as const }, { status: "APPROVED", reason: null, risk: null }],
    [
      "RED RETRY",
      { answer: "RED" as const, rejectType: "RETRY" as const, labels: ["DOCUMENT_PAGE_MISSING"], comment: "The photo page of the passport is missing." },
      { status: "RESUBMISSION_REQUIRED", reason: "The photo page of the passport is missing.", risk: { score: null, labels: ["DOCUMENT_PAGE_MISSING"] } },
    ],
    // Without Sumsub's comment for the applicant, neutral words: the labels (a sanctions or fraud label would tip the person off) go to the risk signals only.
    [
      "RED FINAL",
      { answer: "RED" as const, rejectType: "FINAL" as const, labels: ["FORGERY", "SELFIE_MISMATCH"] },
      { status: "REJECTED", reason: "The documents could not be verified", risk: { score: null, labels: ["FORGERY", "SELFIE_MISMATCH"] } },
    ],
    [
      "RED RETRY without a comment",
      { answer: "RED" as const, rejectType: "RETRY" as const, labels: ["UNSATISFACTORY_PHOTOS"] },
      { status: "RESUBMISSION_REQUIRED", reason: "Please upload clearer documents", risk: { score: null, labels: ["UNSATISFACTORY_PHOTOS"] } },
    ],
  ])("%s is mapped, timed at Sumsub's review date", async (_, decision, verdict) => {
    const ref = await submitted();
    const pending = await sumsub.getStatus(ref, signal());
    const applicant = fake.applicants.get(ref.applicantId);
    expect(pending).toEqual({ status: "IN_REVIEW", reason: null, risk: null, occurredAt: utc(applicant?.createDate) });
    fake.review(ref.applicantId, decision);
    const decided = await sumsub.getStatus(ref, signal());
    expect(decided).toEqual({ ...verdict, occurredAt: utc(applicant?.reviewDate) });
    expect(decided.occurredAt).toBeGreaterThanOrEqual(pending.occurredAt);
  });

  it("after RED RETRY new documents are taken and a new check is in review, timed after the rejection; after FINAL documents are refused", async () => {
    const ref = await submitted();
    fake.review(ref.applicantId, { answer: "RED", rejectType: "RETRY", labels: ["BAD_PROOF_OF_IDENTITY"] });
    const retry = await sumsub.getStatus(ref, signal());
    expect(retry.status).toBe("RESUBMISSION_REQUIRED");
    await sumsub.uploadDocument(ref, document({ type: "ID_CARD" }), signal());
    await sumsub.requestCheck(ref, signal());
    const again = await sumsub.getStatus(ref, signal());
    expect(again.status).toBe("IN_REVIEW");
    // Sumsub's status dates are to the second: a check begun in the second of the decision has its time.
    expect(again.occurredAt).toBeGreaterThanOrEqual(retry.occurredAt);
    fake.review(ref.applicantId, { answer: "RED", rejectType: "FINAL", labels: ["FORGERY"] });
    await expect(sumsub.uploadDocument(ref, document(), signal())).rejects.toThrow(/^Sumsub uploadDocument refused: HTTP 409/);
    await expect(sumsub.requestCheck(ref, signal())).rejects.toThrow(/^Sumsub requestCheck refused: HTTP 409/);
    expect((await sumsub.getStatus(ref, signal())).status).toBe("REJECTED");
  });
});

describe("Sumsub adapter: webhooks", () => {
  const sign = (body: Buffer, alg: DigestAlg = "HMAC_SHA256_HEX", secret = CREDENTIALS.webhookSecret) => ({
    "x-payload-digest": createHmac(DIGEST_HASHES[alg], secret).update(body).digest("hex"),
    "x-payload-digest-alg": alg,
  });
  const signedEvent = (payload: object) => {
    const body = Buffer.from(JSON.stringify({ applicantId: "5cb56e8e0a975a35f333cb83", correlationId: `req-${uniqueSuffix()}`, createdAtMs: "2020-02-21 13:23:19.111", ...payload }));
    return sumsub.parseWebhook(body, sign(body), 1_700_000_000_000);
  };

  it.each(["HMAC_SHA256_HEX", "HMAC_SHA512_HEX", "HMAC_SHA1_HEX"] as const)("SECURITY: the fake's %s webhooks parse; a forged digest, another algorithm or a changed body do not", async (alg) => {
    fake.setDigestAlg(alg);
    const ref = await submitted();
    fake.review(ref.applicantId, { answer: "RED", rejectType: "RETRY", labels: ["SCREENSHOTS"], comment: "Please upload a photo, not a screenshot." });
    await fake.webhooks.idle();
    expect(receiver.received.map((r) => [typeOf(r.body), r.headers["x-payload-digest-alg"]])).toEqual([
      ["applicantPending", alg],
      ["applicantReviewed", alg],
    ]);
    const [pending, reviewed] = receiver.received.map((r) => sumsub.parseWebhook(r.body, r.headers, Date.now()));
    const applicant = fake.applicants.get(ref.applicantId);
    expect(pending).toEqual({ deliveryId: expect.stringMatching(/^sumsub:applicantPending:req-/), ref: { applicantId: ref.applicantId }, occurredAt: pending?.occurredAt, verdict: { status: "IN_REVIEW", reason: null, risk: null, occurredAt: pending?.occurredAt } });
    // createdAtMs is the time of the change, to the ms, that the status resource gives to the second.
    expect(Math.floor((pending?.occurredAt as number) / 1000) * 1000).toBe(utc(applicant?.createDate));
    expect(Math.floor((reviewed?.occurredAt as number) / 1000) * 1000).toBe(utc(applicant?.reviewDate));
    expect(reviewed?.verdict).toEqual({ status: "RESUBMISSION_REQUIRED", reason: "Please upload a photo, not a screenshot.", risk: { score: null, labels: ["SCREENSHOTS"] }, occurredAt: reviewed?.occurredAt });
    expect(reviewed?.occurredAt).toBeGreaterThan(pending?.occurredAt as number);
    expect(reviewed?.deliveryId).not.toBe(pending?.deliveryId);

    const { body, headers } = receiver.received[1] as { body: Buffer; headers: IncomingHttpHeaders };
    const digest = headers["x-payload-digest"] as string;
    const changed = Buffer.from(body.toString("utf8").replace('"RED"', '"GREEN"'));
    expect(changed.equals(body)).toBe(false);
    expect(() => sumsub.parseWebhook(changed, headers, Date.now())).toThrow(WebhookSignatureError);
    expect(() => sumsub.parseWebhook(body, { ...headers, "x-payload-digest": sign(body, alg, "not-the-secret")["x-payload-digest"] }, Date.now())).toThrow(WebhookSignatureError);
    expect(() => sumsub.parseWebhook(body, { ...headers, "x-payload-digest": digest.slice(0, -2) }, Date.now())).toThrow(WebhookSignatureError);
    expect(() => sumsub.parseWebhook(body, { ...headers, "x-payload-digest": `${digest}00` }, Date.now())).toThrow(WebhookSignatureError);
    const another: DigestAlg = alg === "HMAC_SHA256_HEX" ? "HMAC_SHA512_HEX" : "HMAC_SHA256_HEX";
    expect(() => sumsub.parseWebhook(body, { ...headers, "x-payload-digest-alg": another }, Date.now())).toThrow(WebhookSignatureError);
    // Another receiver's secret checks nothing here.
    expect(() => adapter({ webhookSecret: "another-secret" }).parseWebhook(body, headers, Date.now())).toThrow("X-Payload-Digest does not match the body");
  });

  it("SECURITY: no digest, an unknown algorithm or a repeated digest header is refused; no algorithm header means SHA-256", () => {
    const body = Buffer.from(JSON.stringify({ applicantId: "a1", type: "applicantPending", correlationId: "req-1" }));
    expect(() => sumsub.parseWebhook(body, {}, Date.now())).toThrow("Sumsub webhook: no X-Payload-Digest");
    expect(() => sumsub.parseWebhook(body, { ...sign(body), "x-payload-digest-alg": "HMAC_MD5_HEX" }, Date.now())).toThrow("unsupported X-Payload-Digest-Alg");
    expect(() => sumsub.parseWebhook(body, { ...sign(body), "x-payload-digest-alg": "__proto__" }, Date.now())).toThrow(WebhookSignatureError);
    const digest = sign(body)["x-payload-digest"];
    expect(() => sumsub.parseWebhook(body, { "x-payload-digest": [digest, digest] } as unknown as IncomingHttpHeaders, Date.now())).toThrow(WebhookSignatureError);
    expect(sumsub.parseWebhook(body, { "x-payload-digest": digest }, Date.now())?.verdict?.status).toBe("IN_REVIEW");
    expect(sumsub.parseWebhook(body, { "x-payload-digest": digest.toUpperCase() }, Date.now())?.verdict?.status).toBe("IN_REVIEW");
  });

  it("a delivery posted twice has one deliveryId; deliveries out of order carry the times that order them", async () => {
    await fake.close();
    // Each event held until the next: the review is posted before the applicantPending it follows.
    await start({ deliverTwice: true, outOfOrder: true });
    const ref = await submitted();
    fake.review(ref.applicantId, { answer: "GREEN" });
    await fake.webhooks.idle();
    const notices = receiver.received.map((r) => sumsub.parseWebhook(r.body, r.headers, Date.now()));
    expect(notices.map((n) => n?.verdict?.status)).toEqual(["APPROVED", "APPROVED", "IN_REVIEW", "IN_REVIEW"]);
    expect(notices[0]?.deliveryId).toBe(notices[1]?.deliveryId);
    expect(notices[2]?.deliveryId).toBe(notices[3]?.deliveryId);
    expect(notices[0]?.deliveryId).not.toBe(notices[2]?.deliveryId);
    // The review arrived first and is the later event.
    expect(notices[0]?.occurredAt).toBeGreaterThan(notices[2]?.occurredAt as number);
  });

  it("on hold is in review; a reset asks for the status; other events say nothing; createdAtMs is read as Sumsub's UTC date or as a number", async () => {
    const ref = await submitted();
    fake.putOnHold(ref.applicantId);
    await fake.webhooks.idle();
    const onHold = receiver.received.find((r) => typeOf(r.body) === "applicantOnHold");
    expect(sumsub.parseWebhook(onHold?.body as Buffer, onHold?.headers as IncomingHttpHeaders, Date.now())?.verdict?.status).toBe("IN_REVIEW");
    expect((await sumsub.getStatus(ref, signal())).status).toBe("IN_REVIEW");

    expect(signedEvent({ type: "applicantPending" })?.occurredAt).toBe(Date.UTC(2020, 1, 21, 13, 23, 19, 111));
    expect(signedEvent({ type: "applicantPending", createdAtMs: 1_600_000_000_123 })?.occurredAt).toBe(1_600_000_000_123);
    // Without a time of its own, the time it was received.
    expect(signedEvent({ type: "applicantPending", createdAtMs: undefined })?.occurredAt).toBe(1_700_000_000_000);
    expect(signedEvent({ type: "applicantReset" })).toMatchObject({ deliveryId: expect.stringMatching(/^sumsub:applicantReset:req-/), verdict: null });
    expect(signedEvent({ type: "applicantCreated" })).toBeNull();
    expect(signedEvent({ type: "applicantPersonalInfoChanged" })).toBeNull();
    // Without a correlationId, the body identifies the delivery.
    const first = signedEvent({ type: "applicantPending", correlationId: undefined });
    expect(first?.deliveryId).toMatch(/^sumsub:applicantPending:sha256:[0-9a-f]{64}$/);
    expect(signedEvent({ type: "applicantPending", correlationId: undefined })?.deliveryId).toBe(first?.deliveryId);
  });

  it("with autoReview the fake decides by itself and posts the review", async () => {
    await fake.close();
    await start({ autoReview: { afterMs: 10, decide: (a) => (a.documents.some((d) => d.content.includes("SANDBOX-REJECT")) ? { answer: "RED", rejectType: "FINAL", labels: ["FORGERY"] } : { answer: "GREEN" }) } });
    const approved = await submitted();
    const rejected = await sumsub.createApplicant(request(), signal());
    await sumsub.uploadDocument(rejected, document({ content: Buffer.from("%PDF-1.7 SANDBOX-REJECT") }), signal());
    await sumsub.requestCheck(rejected, signal());
    const reviewed = await waitUntil("both reviews", async () => {
      const notices = receiver.received.filter((r) => typeOf(r.body) === "applicantReviewed").map((r) => sumsub.parseWebhook(r.body, r.headers, Date.now()));
      return notices.length === 2 ? notices : null;
    });
    const statusOf = (ref: ProviderRef) => reviewed.find((n) => n?.ref && "applicantId" in n.ref && n.ref.applicantId === ref.applicantId)?.verdict?.status;
    expect([statusOf(approved), statusOf(rejected)]).toEqual(["APPROVED", "REJECTED"]);
  });
});

describeOutages("Sumsub", () => ({ fake, call: (s) => sumsub.createApplicant(request(), s) }));

describe("Sumsub adapter: Sumsub unavailable midway", () => {
  it("an upload Sumsub never answers is unavailable and leaves nothing half-done; a caller giving up is unavailable too", async () => {
    const ref = await sumsub.createApplicant(request(), signal());
    fake.hang(true);
    await expect(sumsub.uploadDocument(ref, document(), AbortSignal.timeout(300))).rejects.toThrow(ProviderUnavailableError);
    const controller = new AbortController();
    const aborted = sumsub.getStatus(ref, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toThrow(/^Sumsub getStatus got no answer: aborted \(AbortError/);
    await expect(aborted).rejects.toThrow(ProviderUnavailableError);
    fake.hang(false);
    expect(fake.applicants.get(ref.applicantId)?.documents).toHaveLength(0);
    expect((await sumsub.getStatus(ref, signal())).status).toBe("IN_REVIEW");
  });
});
