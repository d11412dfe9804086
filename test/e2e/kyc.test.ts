import { pdfBytes, pngBytes } from "../support/documents";
import { codeOf, useApp, type SignedIn } from "../support/harness";
import { waitUntil } from "../support/wait";
import { runOperation, watch, wsClient } from "../support/ws";

// The sandbox decides 1.5 s after a check: long enough for a reviewer to act first.
const h = useApp({ KYC_SANDBOX_DELAY_MS: "1500" });
const wsUrl = (baseUrl = h.t.baseUrl) => `${baseUrl.replace("http", "ws")}/graphql`;

const START = `mutation($input: StartVerificationInput) { startVerification(input: $input) { id status provider level createdAt } }`;
const UPLOAD = `mutation($input: UploadVerificationDocumentInput!) { uploadVerificationDocument(input: $input) { id type status } }`;
const SUBMIT = `mutation($id: ID!) { submitVerification(id: $id) { id status } }`;
const MINE = `{ myVerification { id status provider level reason documents { id type status } } }`;
const REVIEW = `mutation($input: ReviewVerificationInput!) { reviewVerification(input: $input) { id status reason } }`;
const CHANGES = `subscription { verificationStatusChanged { verificationId userId status reason occurredAt } }`;
const CHANGES_OF = `subscription($userId: ID!) { verificationStatusChanged(userId: $userId) { verificationId userId status reason occurredAt } }`;

const png = { type: "PASSPORT", fileName: "passport.png", contentType: "image/png", contentBase64: pngBytes().toString("base64") };
const rejectedPdf = { type: "PROOF_OF_ADDRESS", fileName: "bill.pdf", contentType: "application/pdf", contentBase64: pdfBytes("Utility bill SANDBOX-REJECT").toString("base64") };

async function startedAndUploaded(user: SignedIn, document = png): Promise<string> {
  const started = await h.gql<{ startVerification: { id: string; status: string; provider: string; level: string } }, unknown>(START, { input: { level: "BASIC" } }, user.headers);
  expect(started.errors).toBeUndefined();
  expect(started.data?.startVerification).toMatchObject({ status: "PENDING", provider: "SANDBOX", level: "BASIC" });
  const id = started.data?.startVerification.id as string;
  const uploaded = await h.gql(UPLOAD, { input: { verificationId: id, ...document } }, user.headers);
  expect(uploaded.errors).toBeUndefined();
  expect(uploaded.data).toEqual({ uploadVerificationDocument: { id: expect.any(String), type: document.type, status: "UPLOADED" } });
  return id;
}

/** A socket signed in as `user`, connected (it ran a query) so that its subscription starts at once. */
async function socketOf(user: SignedIn, baseUrl = h.t.baseUrl) {
  const c = wsClient(wsUrl(baseUrl), { authorization: `Bearer ${user.accessToken}` }, { lazy: false, onNonLazyError: () => undefined });
  expect((await runOperation(c, "{ me { id } }")).data).toMatchObject({ me: { id: user.user.id } });
  return c;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** `watcher` subscribes to `user`'s changes (by `userId` as given), then `user` starts, uploads and submits. */
async function watchedSubmission(watcher: SignedIn, user: SignedIn, userId = user.user.id) {
  const c = await socketOf(watcher);
  const changes = watch(c, CHANGES_OF, { userId });
  await settle();
  const id = await startedAndUploaded(user);
  await h.gql(SUBMIT, { id }, user.headers);
  return { c, changes, id };
}

describe("KYC with the sandbox provider, watched live over graphql-ws", () => {
  it("a subscriber receives IN_REVIEW then APPROVED with no polling; the approval is an event, a notification, an audit record and User.kycStatus", async () => {
    const user = await h.signedIn();
    const c = await socketOf(user);
    const changes = watch(c, CHANGES);
    await settle();
    const id = await startedAndUploaded(user);
    expect((await h.gql(SUBMIT, { id }, user.headers)).data).toEqual({ submitVerification: { id, status: "IN_REVIEW" } });
    const [inReview, approved] = await changes.received(2);
    expect(inReview?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "IN_REVIEW", reason: null, occurredAt: expect.any(String) } });
    expect(approved?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "APPROVED", reason: null, occurredAt: expect.any(String) } });
    const mine = await h.gql<{ myVerification: { status: string; documents: { status: string }[] } }, unknown>(MINE, {}, user.headers);
    expect(mine.data?.myVerification).toMatchObject({ id, status: "APPROVED", reason: null, documents: [{ type: "PASSPORT", status: "SUBMITTED" }] });
    expect((await h.gql("{ me { kycStatus } }", {}, user.headers)).data).toEqual({ me: { kycStatus: "APPROVED" } });
    const verified = await h.queues.waitFor("user-events", (job) => job.name === "user.verified" && (job.data as { aggregateId: string }).aggregateId === user.user.id);
    expect((verified.data as { data: unknown }).data).toEqual({ verificationId: id, level: "BASIC", provider: "SANDBOX" });
    const notified = await h.queues.waitFor("notifications", (job) => job.name === "kyc-status-changed" && (job.data as { to: string; params: { status: string } }).params.status === "APPROVED" && (job.data as { to: string }).to === user.email);
    expect((notified.data as { params: unknown }).params).toEqual({ status: "APPROVED", level: "BASIC" });
    await h.auditedAtLeast(1, { action: "kyc.status_change", subjectId: id });
    await c.dispose();
  });

  it("a document containing SANDBOX-REJECT ends REJECTED, with the reason pushed to the subscriber", async () => {
    const user = await h.signedIn();
    const c = await socketOf(user);
    const changes = watch(c, CHANGES);
    await settle();
    const id = await startedAndUploaded(user, rejectedPdf);
    await h.gql(SUBMIT, { id }, user.headers);
    const [, rejected] = await changes.received(2);
    expect(rejected?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "REJECTED", reason: expect.stringContaining("SANDBOX-REJECT"), occurredAt: expect.any(String) } });
    const risk = await h.queues.waitFor("user-events", (job) => job.name === "risk.score_updated" && (job.data as { aggregateId: string }).aggregateId === user.user.id);
    expect((risk.data as { data: unknown }).data).toEqual({ verificationId: id, level: "BASIC", provider: "SANDBOX", score: 100, labels: ["SANDBOX_REJECT"] });
    // Final: a new verification at the level may be started; this one takes no more documents.
    const again = await h.gql(UPLOAD, { input: { verificationId: id, ...png } }, user.headers);
    expect(codeOf(again)).toBe("BAD_USER_INPUT");
    await c.dispose();
  });

  it("the subscriber on one instance receives what the other instance processed (Redis pub/sub)", async () => {
    const other = await h.anotherInstance({ JOBS_WORKER: "false" });
    try {
      const user = await h.signedIn();
      const c = await socketOf(user, other.baseUrl);
      const changes = watch(c, CHANGES);
      await settle();
      const id = await startedAndUploaded(user);
      await h.gql(SUBMIT, { id }, user.headers);
      const results = await changes.received(2);
      expect(results.map((r) => (r.data as { verificationStatusChanged: { status: string } }).verificationStatusChanged.status)).toEqual(["IN_REVIEW", "APPROVED"]);
      await c.dispose();
    } finally {
      await other.app.stop();
    }
  });

  it("compliance watches a user and requests resubmission; the sandbox's late decision does not override it; documents again, then APPROVED", async () => {
    const user = await h.signedIn();
    const reviewer = await h.withRole("compliance");
    const { c, changes, id } = await watchedSubmission(reviewer, user);
    const noReason = await h.gql(REVIEW, { input: { verificationId: id, decision: "REQUEST_RESUBMISSION" } }, reviewer.headers);
    expect(codeOf(noReason)).toBe("BAD_USER_INPUT");
    const reviewed = await h.gql(REVIEW, { input: { verificationId: id, decision: "REQUEST_RESUBMISSION", reason: "The photo is blurred" } }, reviewer.headers);
    expect(reviewed.data).toEqual({ reviewVerification: { id, status: "RESUBMISSION_REQUIRED", reason: "The photo is blurred" } });
    const [first, second] = await changes.received(2);
    expect([first, second].map((r) => (r?.data as { verificationStatusChanged: { status: string } }).verificationStatusChanged.status)).toEqual(["IN_REVIEW", "RESUBMISSION_REQUIRED"]);
    // Past the sandbox's decision time: its poll found the verification no longer IN_REVIEW.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const mine = await h.gql<{ myVerification: { status: string; reason: string } }, unknown>(MINE, {}, user.headers);
    expect(mine.data?.myVerification).toMatchObject({ status: "RESUBMISSION_REQUIRED", reason: "The photo is blurred" });
    expect(changes.results).toHaveLength(2);
    const [review] = await h.auditedAtLeast(1, { action: "kyc.review", subjectId: id });
    expect(review).toMatchObject({ actorType: "user", actorId: reviewer.user.id });
    // Submitting again needs a new document; then the sandbox decides this attempt.
    expect(codeOf(await h.gql(SUBMIT, { id }, user.headers))).toBe("BAD_USER_INPUT");
    await h.gql(UPLOAD, { input: { verificationId: id, ...png } }, user.headers);
    expect((await h.gql(SUBMIT, { id }, user.headers)).data).toEqual({ submitVerification: { id, status: "IN_REVIEW" } });
    const all = await changes.received(4);
    expect((all[3]?.data as { verificationStatusChanged: { status: string } }).verificationStatusChanged.status).toBe("APPROVED");
    await c.dispose();
  });

  // The id is read as every id argument is: in capitals it is the same user.
  it.each([
    ["a compliance watcher receives the user's changes", true],
    ["the user themself, without kyc:review, watches themself", false],
  ])("naming the user's id in capitals: %s", async (_name, byReviewer) => {
    const user = await h.signedIn();
    const { c, changes, id } = await watchedSubmission(byReviewer ? await h.withRole("compliance") : user, user, user.user.id.toUpperCase());
    const [inReview] = await changes.received(1);
    expect(inReview?.data).toEqual({ verificationStatusChanged: { verificationId: id, userId: user.user.id, status: "IN_REVIEW", reason: null, occurredAt: expect.any(String) } });
    await c.dispose();
  });

  it("a user cannot watch another user (FORBIDDEN at subscribe time), and never receives their changes", async () => {
    const [a, b] = await Promise.all([h.signedIn(), h.signedIn()]);
    const c = await socketOf(a);
    const refused = watch(c, CHANGES_OF, { userId: b.user.id });
    // graphql-js answers a refused subscribe with one result holding the error, then completes.
    expect(await refused.ended).toEqual({});
    expect(refused.results).toEqual([{ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: "FORBIDDEN" }) })] }]);
    const own = watch(c, CHANGES);
    const mirrored = watch(c, CHANGES_OF, { userId: a.user.id });
    await settle();
    const id = await startedAndUploaded(b);
    await h.gql(SUBMIT, { id }, b.headers);
    await waitUntil("b's approval", async () => (await h.prisma.kycVerification.findUnique({ where: { id } }))?.status === "APPROVED");
    await settle();
    expect(own.results).toEqual([]);
    expect(mirrored.results).toEqual([]);
    await c.dispose();
  });

  it("a watcher whose kyc:review is taken away gets the next event refused (checked per event, SECURITY 52)", async () => {
    const user = await h.signedIn();
    const reviewer = await h.withRole("compliance");
    const { c, changes } = await watchedSubmission(reviewer, user);
    const [inReview] = await changes.received(1);
    expect(inReview?.data).toMatchObject({ verificationStatusChanged: { status: "IN_REVIEW" } });
    await h.t.app.modules.authz.api.changeRole(reviewer.user.id, "compliance", "remove");
    const [, refused] = await changes.received(2);
    expect(refused?.data).toBeNull();
    expect(refused?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    await c.dispose();
  });

  it("reviewing needs kyc:review; a reviewer may not decide their own verification", async () => {
    const user = await h.signedIn();
    const id = await startedAndUploaded(user);
    await h.gql(SUBMIT, { id }, user.headers);
    expect(codeOf(await h.gql(REVIEW, { input: { verificationId: id, decision: "APPROVE" } }, user.headers))).toBe("FORBIDDEN");
    const reviewer = await h.withRole("compliance");
    const own = await startedAndUploaded(reviewer);
    await h.gql(SUBMIT, { id: own }, reviewer.headers);
    expect(codeOf(await h.gql(REVIEW, { input: { verificationId: own, decision: "APPROVE" } }, reviewer.headers))).toBe("FORBIDDEN");
  });

  it("refuses what the state machine and the inputs do not allow, with errors naming the field", async () => {
    const user = await h.signedIn();
    const stranger = await h.signedIn();
    const id = (await h.gql<{ startVerification: { id: string } }, unknown>(START, {}, user.headers)).data?.startVerification.id as string;
    const twice = await h.gql(START, { input: { level: "BASIC" } }, user.headers);
    expect(twice.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.level" }] });
    expect(codeOf(await h.gql(SUBMIT, { id }, user.headers))).toBe("BAD_USER_INPUT");
    expect(codeOf(await h.gql(UPLOAD, { input: { verificationId: id, ...png } }, stranger.headers))).toBe("NOT_FOUND");
    const lying = await h.gql(UPLOAD, { input: { verificationId: id, ...png, contentType: "application/pdf" } }, user.headers);
    expect(lying.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.contentType" }] });
    const html = await h.gql(UPLOAD, { input: { verificationId: id, ...png, contentBase64: Buffer.from("<html><script>alert(1)</script></html>").toString("base64") } }, user.headers);
    expect(html.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.contentBase64" }] });
    const notBase64 = await h.gql(UPLOAD, { input: { verificationId: id, ...png, contentBase64: "%%%%" } }, user.headers);
    expect(notBase64.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.contentBase64" }] });
    expect(await h.prisma.kycDocument.count({ where: { verificationId: id } })).toBe(0);
    const unavailable = await h.gql(START, { input: { level: "ENHANCED", provider: "ONFIDO" } }, user.headers);
    expect(unavailable.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "provider" }] });
  });
});
