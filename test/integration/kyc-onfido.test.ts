import { createHmac, randomUUID } from "node:crypto";
import { Configuration, DefaultApi, FileTransfer, WebhookEventVerifier } from "@onfido/api";
import { Registry } from "prom-client";
import { KycMetrics } from "../../src/modules/kyc/kyc.metrics";
import type { DocumentType } from "../../src/modules/kyc/kyc.model";
import { OnfidoProvider } from "../../src/modules/kyc/providers/onfido";
import { WebhookSignatureError, type ApplicantRequest, type ProviderDocument, type ProviderRef, type WebhookNotice } from "../../src/modules/kyc/providers/provider";
import { ResilientProviders } from "../../src/modules/kyc/providers/resilient";
import { ProviderUnavailableError } from "../../src/platform/http/provider-http";
import { webhookReceiverPerTest } from "../support/fakes/fake-server";
import { startFakeOnfido, type FakeOnfido, type FakeOnfidoOptions } from "../support/fakes/onfido";
import { describeOutages } from "../support/fakes/outages";
import { waitUntil } from "../support/wait";

const API_TOKEN = "api_sandbox.onfido-test-token";
const WEBHOOK_TOKEN = "onfido-webhook-token-3f9a";

const signal = () => AbortSignal.timeout(15_000);
const applicant = (verificationId: string, attempt = 1): ApplicantRequest => ({ verificationId, reference: `${verificationId}-${attempt}`, userId: "user-1", email: "alice@example.com", level: "ENHANCED" });
/** A JPEG-looking file of `size` bytes (Onfido takes documents of 2 KB to 3 MB, live photos of 32 KB to 10 MB). */
const jpeg = (size: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(size - 4, 7)]);
const doc = (type: DocumentType): ProviderDocument => ({ documentId: randomUUID(), type, fileName: `${type.toLowerCase()}.jpg`, mime: "image/jpeg", content: jpeg(type === "SELFIE" ? 40_000 : 4_096) });

const receiver = webhookReceiverPerTest();
let fake: FakeOnfido;
let onfido: OnfidoProvider;

async function start(options: Partial<FakeOnfidoOptions> = {}): Promise<void> {
  await fake?.close();
  fake = await startFakeOnfido({ token: API_TOKEN, webhookToken: WEBHOOK_TOKEN, webhookUrl: receiver.url, ...options });
  onfido = new OnfidoProvider({ baseUrl: fake.url, apiToken: API_TOKEN, webhookToken: WEBHOOK_TOKEN });
}

beforeEach(() => start());
afterEach(() => fake.close());

/** An applicant with a passport and a selfie, and its check requested. */
async function checked(verificationId = `ver-${randomUUID()}`): Promise<ProviderRef & { checkId: string }> {
  const ref = await onfido.createApplicant(applicant(verificationId), signal());
  await onfido.uploadDocument(ref, doc("PASSPORT"), signal());
  await onfido.uploadDocument(ref, doc("SELFIE"), signal());
  return (await onfido.requestCheck(ref, signal())) as ProviderRef & { checkId: string };
}

const received = (now = Date.now()) => receiver.received.map((r) => onfido.parseWebhook(r.body, r.headers, now));
const actions = () => receiver.received.map((r) => (JSON.parse(r.body.toString()) as { payload: { action: string } }).payload.action);

describe("the Onfido adapter against the fake", () => {
  it("end to end: applicant, passport and live photo, check, the decision read by getStatus and announced by signed webhooks", async () => {
    const ref = await onfido.createApplicant(applicant("ver-1"), signal());
    expect(ref).toEqual({ applicantId: expect.any(String), checkId: null });
    // Onfido requires names we do not hold yet: placeholders that name our verification's attempt.
    expect(fake.state.applicants.get(ref.applicantId)).toMatchObject({ first_name: "Applicant", last_name: "ver-1-1", email: "alice@example.com" });
    await onfido.uploadDocument(ref, doc("PASSPORT"), signal());
    await onfido.uploadDocument(ref, { ...doc("PROOF_OF_ADDRESS"), mime: "application/pdf", fileName: "bill.pdf" }, signal());
    await onfido.uploadDocument(ref, doc("SELFIE"), signal());
    expect([...fake.state.documents.values()].map((d) => [d.applicant_id, d.type, d.file_type])).toEqual([
      [ref.applicantId, "passport", "jpg"],
      [ref.applicantId, "utility_bill", "pdf"],
    ]);
    expect([...fake.state.livePhotos.values()].map((p) => [p.applicant_id, p.file_size])).toEqual([[ref.applicantId, 40_000]]);

    const withCheck = await onfido.requestCheck(ref, signal());
    const checkId = withCheck.checkId as string;
    expect(withCheck).toEqual({ applicantId: ref.applicantId, checkId: expect.any(String) });
    expect(JSON.parse(fake.requests.at(-1)?.body.toString() ?? "")).toEqual({ applicant_id: ref.applicantId, report_names: ["document", "facial_similarity_photo"] });
    expect(await onfido.getStatus(withCheck, signal())).toEqual({ status: "IN_REVIEW", reason: null, occurredAt: expect.any(Number), risk: null });

    fake.completeCheck(checkId, "clear");
    expect(await onfido.getStatus(withCheck, signal())).toEqual({ status: "APPROVED", reason: null, occurredAt: expect.any(Number), risk: null });

    await fake.webhooks.idle();
    expect(actions()).toEqual(["check.started", "report.completed", "report.completed", "check.completed"]);
    const [started, report, , completed] = received();
    expect(report).toBeNull(); // the check event that follows names the verification
    expect(started).toMatchObject({ ref: { checkId }, verdict: { status: "IN_REVIEW" } });
    // A completed check's webhook has no result: the module asks getStatus.
    const body = JSON.parse(receiver.received[3]?.body.toString() ?? "") as { payload: { object: { completed_at_iso8601: string } } };
    expect(completed).toEqual({ deliveryId: expect.stringMatching(/^[0-9a-f]{64}$/), ref: { checkId }, occurredAt: Date.parse(body.payload.object.completed_at_iso8601), verdict: null });
    // The oracle: onfido-node's own verifier accepts what the fake signed.
    for (const r of receiver.received) expect(new WebhookEventVerifier(WEBHOOK_TOKEN).readPayload(r.body, String(r.headers["x-sha2-signature"]))).toEqual(JSON.parse(r.body.toString()));
  });

  it("consider: REJECTED in neutral words for the user, the reports and breakdowns that considered in the risk signals only, never the data compared", async () => {
    const ref = await checked();
    fake.completeCheck(ref.checkId, "consider");
    expect(await onfido.getStatus(ref, signal())).toEqual({
      status: "REJECTED",
      reason: "The documents could not be verified",
      occurredAt: expect.any(Number),
      risk: { score: null, labels: ["document.visual_authenticity", "facial_similarity_photo.face_comparison"] },
    });
  });

  it("consider only because the pictures could not be used: RESUBMISSION_REQUIRED; a bad document beside it: REJECTED", async () => {
    const blurry = await checked();
    fake.completeCheck(blurry.checkId, { consider: { document: { subResult: "rejected", breakdowns: ["image_integrity"] }, facial_similarity_photo: { breakdowns: ["image_integrity"] } } });
    expect(await onfido.getStatus(blurry, signal())).toMatchObject({
      status: "RESUBMISSION_REQUIRED",
      reason: "Please upload clearer documents",
      risk: { labels: ["document.image_integrity", "facial_similarity_photo.image_integrity"] },
    });

    // An unsupported document: Onfido rejects it without a breakdown to blame.
    const unsupported = await checked();
    fake.completeCheck(unsupported.checkId, { consider: { document: { subResult: "rejected" } } });
    expect(await onfido.getStatus(unsupported, signal())).toMatchObject({ status: "RESUBMISSION_REQUIRED", reason: "Please upload clearer documents", risk: { labels: ["document"] } });

    const forged = await checked();
    fake.completeCheck(forged.checkId, { consider: { document: { subResult: "suspected", breakdowns: ["visual_authenticity"] }, facial_similarity_photo: { breakdowns: ["image_integrity"] } } });
    expect(await onfido.getStatus(forged, signal())).toMatchObject({ status: "REJECTED" });
  });

  it("a withdrawn check is no judgement of the person: RESUBMISSION_REQUIRED with a reason, by getStatus and by its webhook", async () => {
    const ref = await checked();
    fake.withdrawCheck(ref.checkId);
    const withdrawn = { status: "RESUBMISSION_REQUIRED", reason: "The check was withdrawn: please submit your documents again" };
    expect(await onfido.getStatus(ref, signal())).toMatchObject(withdrawn);
    await fake.webhooks.idle();
    expect(received().at(-1)).toMatchObject({ ref: { checkId: ref.checkId }, verdict: withdrawn });
  });

  it("autoDecide: the fake completes a requested check by itself, and the webhook says so", async () => {
    await start({ autoDecide: { afterMs: 50, decide: ({ livePhotos }) => (livePhotos.length > 0 ? "clear" : "consider") } });
    const ref = await checked();
    const notice = await waitUntil("check.completed", async () => received().find((n) => n?.verdict === null));
    expect(notice).toMatchObject({ ref: { checkId: ref.checkId } });
    expect(await onfido.getStatus(ref, signal())).toMatchObject({ status: "APPROVED" });
  });

  it("duplicate and out-of-order deliveries: a duplicate has the same delivery id, and occurredAt orders what arrived out of order", async () => {
    let clock = Date.parse("2026-12-01T10:00:00.000Z");
    await start({ deliverTwice: true, outOfOrder: true, now: () => (clock += 1000) });
    const ref = await checked();
    fake.completeCheck(ref.checkId, "clear");
    fake.webhooks.flush();
    await fake.webhooks.idle();
    // Each event held until the next: report 1 before check.started, check.completed before report 2; each twice.
    expect(actions()).toEqual(["report.completed", "report.completed", "check.started", "check.started", "check.completed", "check.completed", "report.completed", "report.completed"]);
    const notices = received().filter((n): n is WebhookNotice => n !== null);
    const [started, startedAgain, completed, completedAgain] = notices as [WebhookNotice, WebhookNotice, WebhookNotice, WebhookNotice];
    expect(notices).toHaveLength(4);
    expect(startedAgain.deliveryId).toBe(started.deliveryId);
    expect(completedAgain.deliveryId).toBe(completed.deliveryId);
    expect(completed.deliveryId).not.toBe(started.deliveryId);
    expect(completed.occurredAt).toBeGreaterThan(started.occurredAt);
  });

  it("a forged signature, a tampered body or a missing signature is a WebhookSignatureError", async () => {
    const ref = await checked();
    await fake.webhooks.idle();
    const { body, headers } = receiver.received[0] as (typeof receiver.received)[0];
    const parse = (raw: Buffer, signature: string | undefined) => () => onfido.parseWebhook(raw, signature === undefined ? {} : { "x-sha2-signature": signature }, Date.now());
    expect(parse(body, String(headers["x-sha2-signature"]))()).toMatchObject({ ref: { checkId: ref.checkId } });
    const tampered = Buffer.from(body.toString().replace("in_progress", "complete"));
    const forged = createHmac("sha256", "another-token").update(body).digest("hex");
    for (const [raw, signature] of [
      [tampered, String(headers["x-sha2-signature"])],
      [body, forged],
      [body, String(headers["x-sha2-signature"]).slice(0, 32)],
      [body, "not hex at all"],
      [body, undefined],
    ] as const)
      expect(parse(raw, signature)).toThrow(WebhookSignatureError);
  });

  it("Onfido refusing a request is an Error naming the call and Onfido's reason, not a ProviderUnavailableError", async () => {
    const ref = await onfido.createApplicant(applicant("ver-2"), signal());
    // No documents yet: the check cannot run.
    const refused = await onfido.requestCheck(ref, signal()).catch((e: unknown) => e);
    expect(refused).not.toBeInstanceOf(ProviderUnavailableError);
    expect((refused as Error).message).toBe("Onfido requestCheck refused: HTTP 422 validation_error: There was a validation error on this request (report_names)");
    const wrongToken = new OnfidoProvider({ baseUrl: fake.url, apiToken: "api_sandbox.wrong", webhookToken: WEBHOOK_TOKEN });
    await expect(wrongToken.getStatus({ ...ref, checkId: "missing" }, signal())).rejects.toThrow("Onfido getStatus refused: HTTP 401 authorization_error: Authorization error: please re-check your credentials");
    await expect(onfido.getStatus({ ...ref, checkId: "missing" }, signal())).rejects.toThrow("Onfido getStatus refused: HTTP 404 resource_not_found");
    await expect(onfido.getStatus(ref, signal())).rejects.toThrow("has no check yet");
  });
});

describe("the Onfido adapter under the resilience policy", () => {
  it("an applicant or a check that timed out is not asked for again (Onfido would make a second one); a status read is", async () => {
    const resilient = new ResilientProviders({ providers: [onfido], policy: { timeoutMs: 300, maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, breakerThreshold: 100, halfOpenAfterMs: 1000 }, metrics: new KycMetrics(new Registry()) });
    const ref = await onfido.createApplicant(applicant(`ver-${randomUUID()}`), signal());
    await onfido.uploadDocument(ref, doc("PASSPORT"), signal());
    fake.hang(true);
    const sent = (path: string) => fake.requests.filter((r) => r.method === "POST" && r.path === `/v3.6${path}`).length;
    const [applicants, checks] = [sent("/applicants"), sent("/checks")];
    await expect(resilient.call("ONFIDO", "createApplicant", (p, s) => p.createApplicant(applicant(`ver-${randomUUID()}`), s))).rejects.toThrow(/after 1 attempt\(s\)/);
    await expect(resilient.call("ONFIDO", "requestCheck", (p, s) => p.requestCheck(ref, s))).rejects.toThrow(/after 1 attempt\(s\)/);
    expect([sent("/applicants") - applicants, sent("/checks") - checks]).toEqual([1, 1]);
    const reads = fake.requests.length;
    await expect(resilient.call("ONFIDO", "getStatus", (p, s) => p.getStatus({ ...ref, checkId: "c-1" }, s))).rejects.toThrow(/after 3 attempt\(s\)/);
    expect(fake.requests.length - reads).toBe(3);
  });
});

describe("the fake against onfido-node (the official client as an oracle)", () => {
  it("speaks the shapes @onfido/api sends and expects: applicant, document, live photo, check, reports", async () => {
    const api = new DefaultApi(new Configuration({ apiToken: API_TOKEN, basePath: fake.url }));
    const { data: created } = await api.createApplicant({ first_name: "Jane", last_name: "Doe", email: "jane@example.com" });
    const { data: document } = await api.uploadDocument("passport", created.id, new FileTransfer(jpeg(4_096), "passport.jpg"));
    expect(document).toMatchObject({ applicant_id: created.id, type: "passport", file_type: "jpg" });
    await api.uploadLivePhoto(created.id, new FileTransfer(jpeg(40_000), "selfie.jpg"));
    const { data: check } = await api.createCheck({ applicant_id: created.id, report_names: ["document", "facial_similarity_photo"] });
    expect(check.status).toBe("in_progress");
    fake.completeCheck(check.id, "consider");
    expect((await api.findCheck(check.id)).data).toMatchObject({ status: "complete", result: "consider", report_ids: expect.arrayContaining([expect.any(String)]) });
    const { data: list } = await api.listReports(check.id);
    expect(list.reports.map((r) => [r.name, r.result])).toEqual([
      ["document", "consider"],
      ["facial_similarity_photo", "consider"],
    ]);
    // Our adapter reads what the official client made.
    expect(await onfido.getStatus({ applicantId: created.id, checkId: check.id }, signal())).toMatchObject({ status: "REJECTED" });
    // And the fake refuses a wrong token the way Onfido does.
    const wrong = new DefaultApi(new Configuration({ apiToken: "api_sandbox.wrong", basePath: fake.url }));
    await expect(wrong.findCheck(check.id)).rejects.toMatchObject({ response: { status: 401, data: { error: { type: "authorization_error" } } } });
  });
});

describeOutages("Onfido", () => ({ fake, call: (s) => onfido.createApplicant(applicant(`ver-${randomUUID()}`), s) }));
