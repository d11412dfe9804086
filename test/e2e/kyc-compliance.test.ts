import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { CheckPermissionDocument, CreatePolicyDocument, ReviewVerificationDocument, StartVerificationDocument, SubmitVerificationDocument, UploadVerificationDocumentDocument } from "../support/generated/operations";
import { pdfBytes } from "../support/documents";
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
