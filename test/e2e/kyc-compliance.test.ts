import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Client } from "pg";
import { CheckPermissionDocument, CreatePolicyDocument, ReviewVerificationDocument, StartVerificationDocument, SubmitVerificationDocument, UploadVerificationDocumentDocument } from "../support/generated/operations";
import { pdfBytes, pngBytes } from "../support/documents";
import { codeOf, useApp, type SignedIn } from "../support/harness";
import { waitUntil } from "../support/wait";

// The sandbox takes ten minutes here: only reviewers, escalation and the clock decide.
const h = useApp({ KYC_SANDBOX_DELAY_MS: "600000", KYC_REVIEW_TIMEOUT_S: "600" });
const MARKER = "PERSONAL-DOCUMENT-TEXT";

async function submitted(user: SignedIn): Promise<string> {
  const id = (await h.gql(StartVerificationDocument, {}, user.headers)).data?.startVerification.id as string;
  const document = { verificationId: id, type: "ID_CARD" as never, fileName: "id.pdf", contentType: "application/pdf", contentBase64: pdfBytes(MARKER).toString("base64") };
  expect((await h.gql(UploadVerificationDocumentDocument, { input: document }, user.headers)).errors).toBeUndefined();
  expect((await h.gql(SubmitVerificationDocument, { id }, user.headers)).data?.submitVerification.status).toBe("IN_REVIEW");
  return id;
}

const png = (verificationId: string) => ({ verificationId, type: "PASSPORT" as never, fileName: "passport.png", contentType: "image/png", contentBase64: pngBytes().toString("base64") });

describe("compliance review, escalation and what a decision changes elsewhere", () => {
  it("a verification IN_REVIEW past KYC_REVIEW_TIMEOUT_S is escalated once: an event and a notification to compliance", async () => {
    const user = await h.signedIn();
    const id = await submitted(user);
    const kyc = h.t.app.modules.kyc.api;
    expect(await kyc.escalateOverdue()).toBe(0);
    h.clock.offsetMs = 601_000;
    expect(await kyc.escalateOverdue()).toBe(1);
    expect(await kyc.escalateOverdue()).toBe(0);
    const notice = await h.queues.waitFor("notifications", (job) => job.name === "kyc-review-escalated" && (job.data as { params: { verificationId: string } }).params.verificationId === id);
    expect(notice.data).toMatchObject({ to: "compliance@localhost", params: { verificationId: id, level: "BASIC", provider: "SANDBOX" } });
    await h.queues.waitFor("user-events", (job) => job.name === "kyc.escalated" && (job.data as { data: { verificationId: string } }).data.verificationId === id);
    h.clock.offsetMs = 0;
  });

  it("a submission holds at most 20 documents: a resubmission takes new ones however many the earlier attempts had", async () => {
    const user = await h.signedIn();
    const reviewer = await h.withRole("compliance");
    const id = (await h.gql(StartVerificationDocument, {}, user.headers)).data?.startVerification.id as string;
    for (let i = 0; i < 20; i += 1) expect((await h.gql(UploadVerificationDocumentDocument, { input: png(id) }, user.headers)).errors).toBeUndefined();
    const over = await h.gql(UploadVerificationDocumentDocument, { input: png(id) }, user.headers);
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.verificationId", message: expect.stringContaining("at most 20 documents") }] });
    expect((await h.gql(SubmitVerificationDocument, { id }, user.headers)).data?.submitVerification.status).toBe("IN_REVIEW");
    await h.gql(ReviewVerificationDocument, { input: { verificationId: id, decision: "REQUEST_RESUBMISSION" as never, reason: "The photos are blurred" } }, reviewer.headers);
    expect((await h.gql(UploadVerificationDocumentDocument, { input: png(id) }, user.headers)).errors).toBeUndefined();
    expect((await h.gql(SubmitVerificationDocument, { id }, user.headers)).data?.submitVerification.status).toBe("IN_REVIEW");
  });

  it("a webhook delivery whose job runs twice at once is applied once: its record is written with its news, in one transaction", async () => {
    const user = await h.signedIn();
    const id = await submitted(user);
    const { applicantId } = await waitUntil("the sandbox applicant", async () => {
      const row = await h.prisma.kycVerification.findUniqueOrThrow({ where: { id } });
      return row.applicantId ? row : null;
    });
    // News that changes no status but says something: a risk signal, published with it.
    const deliveryId = `twice-${randomUUID()}`;
    const occurredAt = Date.now();
    const verdict = { status: "IN_REVIEW", reason: null, occurredAt, risk: { score: 40, labels: ["WATCHLIST_REVIEW"] } };
    await h.prisma.kycWebhookDelivery.create({ data: { provider: "SANDBOX", deliveryId, occurredAt: new Date(occurredAt), notice: { deliveryId, ref: { applicantId }, occurredAt, verdict } } });
    // Both runs read the delivery unprocessed, then wait for the verification's lock, held here.
    const pg = new Client({ connectionString: h.t.databaseUrl });
    await pg.connect();
    try {
      await pg.query("BEGIN");
      await pg.query("SELECT 1 FROM kyc_verifications WHERE id = $1 FOR UPDATE", [id]);
      const runs = [`${deliveryId}-a`, `${deliveryId}-b`];
      for (const jobId of runs) await h.t.app.platform.jobs.enqueue("kyc.webhook", { provider: "SANDBOX", deliveryId }, { jobId });
      await waitUntil("both runs waiting for the lock", async () => {
        const { rows } = await pg.query<{ waiting: string }>("SELECT count(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        return Number(rows[0]?.waiting) >= 2;
      });
      await pg.query("COMMIT");
      for (const jobId of runs) await h.queues.finished("identity-jobs", jobId);
    } finally {
      await pg.end();
    }
    expect(await h.prisma.kycWebhookDelivery.findUniqueOrThrow({ where: { provider_deliveryId: { provider: "SANDBOX", deliveryId } } })).toMatchObject({ processedAt: expect.any(Date), outcome: "no change" });
    expect(await h.prisma.outboxEvent.count({ where: { destination: "user-events", name: "risk.score_updated", aggregateId: user.user.id } })).toBe(1);
  });

  it("a submission whose check job cannot be queued (Redis unreachable) is retried by the outbox relay without counting toward parking", async () => {
    const user = await h.signedIn();
    const jobs = h.t.app.platform.jobs;
    const enqueue = jobs.enqueue.bind(jobs);
    let refused = 0;
    jobs.enqueue = async (name, data, options) => {
      if (name !== "kyc.check") return enqueue(name, data, options);
      refused += 1;
      throw new Error("Connection is closed.");
    };
    let id: string;
    try {
      id = await submitted(user);
      await waitUntil("the relay to try three times", async () => refused >= 3);
      const row = await h.prisma.outboxEvent.findFirstOrThrow({ where: { destination: "handler:kyc-check", aggregateId: user.user.id } });
      expect(row).toMatchObject({ attempts: 0, lastError: null, parkedAt: null, publishedAt: null });
    } finally {
      Reflect.deleteProperty(jobs, "enqueue");
    }
    await waitUntil("the check job, once Redis answers", () => h.prisma.kycVerification.findFirst({ where: { id, applicantId: { not: null } } }));
  });

  it("Cedar's principal.kycStatus follows the user's verification: a policy asking for APPROVED allows only after the approval", async () => {
    const admin = await h.withRole("admin");
    const reviewer = await h.withRole("compliance");
    const user = await h.signedIn();
    const name = `kyc-approved-only-${Date.now()}`;
    const created = await h.gql(CreatePolicyDocument, { input: { name, effect: "ALLOW" as never, subjects: [`user:${user.user.id}`], actions: ["orders:approve"], condition: 'principal.kycStatus == "APPROVED"' } }, admin.headers);
    expect(created.errors).toBeUndefined();
    const check = async () => (await h.gql(CheckPermissionDocument, { input: { permission: "orders:approve" } }, user.headers)).data?.checkPermission;
    expect((await check())?.allowed).toBe(false);
    const id = await submitted(user);
    const reviewed = await h.gql(ReviewVerificationDocument, { input: { verificationId: id, decision: "APPROVE" as never } }, reviewer.headers);
    expect(reviewed.data?.reviewVerification).toEqual({ id, status: "APPROVED", reason: null });
    // The decision reaches the authorization module's caches through the committed event.
    expect(await waitUntil("the policy to allow", async () => (await check())?.allowed === true && check())).toEqual({ allowed: true, reason: `policy ${name} allows` });
    // Final: nobody moves it again.
    expect(codeOf(await h.gql(ReviewVerificationDocument, { input: { verificationId: id, decision: "REJECT" as never, reason: "second thoughts" } }, reviewer.headers))).toBe("BAD_USER_INPUT");
  });

  it("User.kycStatus is the user's and compliance's to read, nobody else's", async () => {
    const user = await h.signedIn();
    const reviewer = await h.withRole("compliance");
    const stranger = await h.signedIn();
    const query = `query($id: ID!) { user(id: $id) { id kycStatus } }`;
    expect((await h.gql(query, { id: user.user.id }, user.headers)).data).toEqual({ user: { id: user.user.id, kycStatus: "NONE" } });
    expect((await h.gql(query, { id: user.user.id }, reviewer.headers)).data).toEqual({ user: { id: user.user.id, kycStatus: "NONE" } });
    expect((await h.gql(query, { id: user.user.id }, stranger.headers)).data).toEqual({ user: { id: user.user.id, kycStatus: null } });
  });

  it("documents are sealed at rest under the user's key: the stored file holds no text of the document, and erasing the user shreds it", async () => {
    const user = await h.signedIn();
    const id = await submitted(user);
    const [document] = await h.prisma.kycDocument.findMany({ where: { verificationId: id } });
    const file = path.join(h.t.app.config.DOCUMENT_STORAGE_DIR, user.user.id, document?.id as string);
    const stored = await readFile(file);
    expect(stored.includes(Buffer.from(MARKER))).toBe(false);
    expect((await readdir(path.dirname(file))).length).toBe(1);
    const registry = h.t.app.modules.users.api.personalData;
    const exported = (await registry.export(user.user.id)).kyc as { verifications: { id: string; documents: { contentType: string }[] }[] };
    expect(exported.verifications).toEqual([expect.objectContaining({ id, status: "IN_REVIEW", documents: [expect.objectContaining({ type: "ID_CARD", contentType: "application/pdf" })] })]);
    expect(JSON.stringify(exported)).not.toContain(MARKER);
    await h.t.app.platform.events.unitOfWork.run({ actor: { type: "system", id: null } }, (scope) => registry.erase(scope, user.user.id));
    expect(await h.prisma.kycDocumentKey.count({ where: { userId: user.user.id } })).toBe(0);
    expect(await h.prisma.kycVerification.count({ where: { userId: user.user.id } })).toBe(0);
  });
});
