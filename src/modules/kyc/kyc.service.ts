import { randomUUID } from "node:crypto";
import type { Config } from "../../config";
import type { Viewer } from "../../graphql/context";
import type { Clock } from "../../platform/clock";
import { sql, type Prisma, type Tx } from "../../platform/db/database";
import type { SqlClient } from "../../platform/db/sql";
import type { Origin, UnitOfWork, WorkScope } from "../../platform/events/unit-of-work";
import type { Logger } from "../../platform/logging/logger";
import { BadUserInputError, ForbiddenError, NotFoundError } from "../../shared/errors";
import { idArgument } from "../../shared/input-check";
import { parseUuid } from "../../shared/ids";
import { detectDocument } from "./documents/detect";
import type { DocumentVault } from "./documents/document-vault";
import type { DocumentMime, KycLevel, KycProviderName, KycStatus } from "./kyc.model";
import { IllegalTransition, OPEN_STATUSES, acceptsDocuments, nextStatus } from "./kyc.state";
import type { ReviewVerificationInput, StartVerificationInput, UploadVerificationDocumentInput, Verification, VerificationDocument, VerificationStatusUpdate } from "./kyc.types";
import { applicantReference, type KycCall, type KycProvider, type ProviderRef, type ProviderVerdict } from "./providers/provider";
import { ProviderUnavailableError } from "../../platform/http/provider-http";

/** How the module calls providers: under each one's resilience policy, with fallback (providers/resilient.ts). */
export interface ProviderCalls {
  call<T>(name: KycProviderName, call: KycCall, fn: (provider: KycProvider, signal: AbortSignal) => Promise<T>): Promise<T>;
  withFallback<T>(order: readonly KycProviderName[], call: KycCall, fn: (provider: KycProvider, signal: AbortSignal) => Promise<T>): Promise<{ provider: KycProviderName; value: T; skipped: { provider: KycProviderName; reason: string }[] }>;
}

/** Background work the service asks for (jobs; index.ts binds them). */
export interface KycScheduler {
  poll(verificationId: string, attempt: number, round: number, delayMs: number): Promise<void>;
}

export interface KycServiceDeps {
  prisma: Prisma;
  /** Prepared statements for the hot read (the KYC status every uncached decision asks for). */
  sql: SqlClient;
  unitOfWork: UnitOfWork;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, "KYC_PROVIDER" | "KYC_FALLBACK_PROVIDERS" | "KYC_SANDBOX_DELAY_MS" | "KYC_POLL_INTERVAL_S" | "KYC_REVIEW_TIMEOUT_S" | "KYC_COMPLIANCE_EMAIL" | "MAX_DOCUMENT_SIZE_MB">;
  documents: DocumentVault;
  providers: ProviderCalls;
  /** The providers this deployment has credentials for. */
  available: ReadonlySet<KycProviderName>;
  scheduler: KycScheduler;
  /** A committed status change: to every instance's subscribers (and whoever caches the user's KYC status). */
  changed(update: VerificationStatusUpdate): void;
}

type Row = NonNullable<Awaited<ReturnType<Prisma["kycVerification"]["findUnique"]>>>;

/** At most this many documents per submission attempt. */
const MAX_DOCUMENTS = 20;
/** The reason column's length, in characters (code points, as PostgreSQL counts them). */
const MAX_REASON = 500;
const SYSTEM: Origin = { actor: { type: "system", id: null } };
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Why a provider's news changed nothing (or what it did), for the webhook record and the log. */
export type NewsOutcome = "applied" | "no change" | `ignored: ${string}`;

/** Writes down, in the unit of work that applied a piece of news, that it was (a webhook delivery's record). */
export type NewsRecord = (tx: Tx, outcome: NewsOutcome) => Promise<void>;

/** A provider refusing a request of the check job: the same request would be refused again. */
class ProviderRefusal extends Error {}

/** `work`'s answer; a refusal (any error but unavailability, which is worth retrying) as a ProviderRefusal. */
async function refusalOf<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ProviderUnavailableError) throw error;
    throw new ProviderRefusal((error as Error).message, { cause: error });
  }
}

/** A provider's reason cut to the column (the last character an ellipsis when cut). */
function fitted(reason: string | null): string | null {
  const characters = reason === null ? [] : [...reason];
  return characters.length > MAX_REASON ? `${characters.slice(0, MAX_REASON - 1).join("")}…` : reason;
}

/**
 * Identity verification: the user's part (start, documents, submit), the provider's part (in jobs:
 * applicant, documents, check, polling, webhooks) and compliance's (review, escalation). Every
 * status change goes through `nextStatus` in a unit of work holding the row's lock, so concurrent
 * news (a webhook, a poll, a reviewer) are applied one at a time and a decided verification never
 * moves back.
 */
export class KycService {
  constructor(private readonly deps: KycServiceDeps) {}

  async start(viewer: Viewer, input: StartVerificationInput | null | undefined, origin: Origin): Promise<Verification> {
    const level: KycLevel = input?.level ?? "BASIC";
    const provider = input?.provider ?? this.deps.config.KYC_PROVIDER;
    if (!provider) throw BadUserInputError.field("provider", "no KYC provider is configured here (KYC_PROVIDER): name one");
    if (!this.deps.available.has(provider)) throw BadUserInputError.field("provider", `${provider} is not available on this service (its credentials are not configured)`);
    const user = await this.deps.prisma.user.findUnique({ where: { id: viewer.userId }, select: { emailVerifiedAt: true } });
    if (!user?.emailVerifiedAt) throw new ForbiddenError("Verify your email address before starting an identity verification");
    const existing = await this.deps.prisma.kycVerification.findFirst({ where: { userId: viewer.userId, level, status: { in: [...OPEN_STATUSES, "APPROVED"] } }, select: { id: true, status: true } });
    if (existing) throw alreadyStarted(level, existing.status as KycStatus);
    const id = randomUUID();
    try {
      await this.deps.unitOfWork.run(origin, async (scope) => {
        await scope.tx.kycVerification.create({ data: { id, userId: viewer.userId, level, provider, status: "PENDING" } });
        scope.publish("kyc.started", viewer.userId, { verificationId: id, level, provider });
        scope.audit({ action: "kyc.start", subjectType: "verification", subjectId: id, metadata: { level, provider } });
      });
    } catch (error) {
      // Two starts at once: the partial unique index lets one through.
      if ((error as { code?: string }).code === "P2002" || /kyc_verifications_open_key/.test(String((error as Error).message))) throw alreadyStarted(level, "PENDING");
      throw error;
    }
    return this.verification(viewer.userId, id);
  }

  async upload(viewer: Viewer, input: UploadVerificationDocumentInput, origin: Origin): Promise<VerificationDocument> {
    const verification = await this.own(viewer, input.verificationId, "input.verificationId");
    if (!acceptsDocuments(verification.status as KycStatus)) throw BadUserInputError.field("input.verificationId", `the verification is ${verification.status}: documents can be added while it is PENDING or RESUBMISSION_REQUIRED`);
    const content = this.decode(input.contentBase64);
    const mime: DocumentMime = await detectDocument(content, { contentType: input.contentType, fileName: input.fileName });
    const id = randomUUID();
    // The sealed bytes first: a row never names a document that is not stored; a failed row removes them.
    await this.deps.documents.store(viewer.userId, id, content);
    try {
      await this.deps.unitOfWork.run(origin, async (scope) => {
        const locked = await this.lock(scope.tx, verification.id);
        if (!acceptsDocuments(locked.status as KycStatus)) throw BadUserInputError.field("input.verificationId", `the verification is ${locked.status}: documents can be added while it is PENDING or RESUBMISSION_REQUIRED`);
        if ((await scope.tx.kycDocument.count({ where: { verificationId: locked.id, attempt: locked.attempt + 1 } })) >= MAX_DOCUMENTS) throw BadUserInputError.field("input.verificationId", `a submission holds at most ${MAX_DOCUMENTS} documents`);
        await scope.tx.kycDocument.create({ data: { id, verificationId: locked.id, type: input.type, mime, sizeBytes: content.length, status: "UPLOADED", attempt: locked.attempt + 1 } });
        scope.publish("kyc.document_uploaded", viewer.userId, { ...this.about(locked), documentId: id, type: input.type, mime, sizeBytes: content.length });
        scope.audit({ action: "kyc.document_upload", subjectType: "verification", subjectId: locked.id, metadata: { documentId: id, type: input.type, mime, sizeBytes: content.length } });
      });
    } catch (error) {
      await this.deps.documents.remove(viewer.userId, id).catch((removal: unknown) => this.deps.logger.warn({ err: removal, documentId: id, requestId: origin.requestId }, "could not remove the bytes of a document that was not recorded"));
      throw error;
    }
    return { id, type: input.type, status: "UPLOADED", contentType: mime, createdAt: this.deps.clock.now() };
  }

  async submit(viewer: Viewer, rawId: string, origin: Origin): Promise<Verification> {
    const { id } = await this.own(viewer, rawId, "id");
    await this.deps.unitOfWork.run(origin, async (scope) => {
      const row = await this.lock(scope.tx, id);
      const to = this.transition(row, { by: "user", action: "submit" }, "id");
      // Documents uploaded since the last submission (a resubmission request voids the earlier ones).
      const fresh = await scope.tx.kycDocument.count({ where: { verificationId: id, attempt: row.attempt + 1 } });
      if (fresh === 0) throw BadUserInputError.field("id", row.status === "PENDING" ? "upload at least one document before submitting" : "upload the documents asked for before submitting again");
      const attempt = row.attempt + 1;
      // Each attempt is an applicant of its own at the provider (the job creates it): a late answer
      // about an earlier attempt's documents then names no verification. Only the provider's news
      // orders the provider's news: its clock is not ours.
      await scope.tx.kycVerification.update({
        where: { id },
        data: { status: to, attempt, submittedAt: this.deps.clock.now(), applicantId: null, checkId: null, providerUrl: null, providerNewsAt: null, escalatedAt: null, reason: null },
      });
      scope.publish("kyc.submitted", row.userId, { ...this.about(row), attempt, documents: fresh });
      await this.changed(scope, row, to, null, { by: "user" });
    });
    return this.verification(viewer.userId, id);
  }

  async review(viewer: Viewer, input: ReviewVerificationInput, origin: Origin): Promise<Verification> {
    const id = idArgument("input.verificationId", input.verificationId);
    const reason = input.reason?.trim() || null;
    if (input.decision !== "APPROVE" && !reason) throw BadUserInputError.field("input.reason", `is required to ${input.decision === "REJECT" ? "reject" : "request a resubmission"}`);
    if (reason && reason.length > MAX_REASON) throw BadUserInputError.field("input.reason", `must be at most ${MAX_REASON} characters`);
    const to = ({ APPROVE: "APPROVED", REJECT: "REJECTED", REQUEST_RESUBMISSION: "RESUBMISSION_REQUIRED" } as const)[input.decision];
    const userId = await this.deps.unitOfWork.run(origin, async (scope) => {
      const row = await scope.tx.kycVerification.findUnique({ where: { id } });
      if (!row) throw new NotFoundError("Verification");
      if (row.userId === viewer.userId) throw new ForbiddenError("A reviewer cannot decide their own verification");
      const locked = await this.lock(scope.tx, id);
      this.transition(locked, { by: "reviewer", to }, "input.verificationId");
      await this.decide(scope, locked, to, reason, { by: "reviewer", reviewerId: viewer.userId });
      return locked.userId;
    });
    return this.verification(userId, id);
  }

  async mine(viewer: Viewer): Promise<Verification | null> {
    const latest = await this.deps.prisma.kycVerification.findFirst({ where: { userId: viewer.userId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], select: { id: true } });
    return latest ? this.verification(viewer.userId, latest.id) : null;
  }

  /** The user's best decided level and status: APPROVED at the highest level, else the latest decision, else NONE. */
  async kycStatusOf(userIds: readonly string[]): Promise<string[]> {
    const rows = await this.deps.sql.query<{ userId: string; level: string; status: string }>(sql`
      SELECT user_id AS "userId", level, status FROM kyc_verifications
      WHERE user_id = ANY(${[...userIds]}::uuid[]) AND status IN ('APPROVED', 'REJECTED') ORDER BY decided_at DESC`);
    return userIds.map((userId) => {
      const own = rows.filter((r) => r.userId === userId);
      const approved = own.filter((r) => r.status === "APPROVED").sort((a, b) => (a.level === "ENHANCED" ? -1 : b.level === "ENHANCED" ? 1 : 0));
      return (approved[0] ?? own[0])?.status ?? "NONE";
    });
  }

  // ---------------------------------------------------------------- the provider's part (jobs)

  /**
   * After a submission: the attempt's applicant (with fallback), its documents, the check; then
   * polling. The verification is read again before each step that sends something, so a job
   * overtaken by a decision or a resubmission sends no more. A provider refusing a request hands
   * the verification to manual review at once (the job ends: the same request would be refused
   * again); unavailability fails the job, retried, and escalated by `giveUpSending` once its
   * attempts are spent.
   */
  async sendToProvider(verificationId: string, attempt: number): Promise<void> {
    try {
      await this.send(verificationId, attempt);
    } catch (error) {
      if (!(error instanceof ProviderRefusal)) throw error;
      await this.escalate(verificationId, attempt, error.message);
    }
  }

  /** The check job failed for good (the provider unavailable through every attempt): manual review. */
  async giveUpSending(verificationId: string, attempt: number, error: unknown): Promise<void> {
    await this.escalate(verificationId, attempt, `the provider could not be reached: ${(error as Error).message}`);
  }

  private async send(verificationId: string, attempt: number): Promise<void> {
    let row = await this.current(verificationId, attempt);
    if (!row) return;
    if (!row.applicantId) {
      const order = [row.provider as KycProviderName, ...this.deps.config.KYC_FALLBACK_PROVIDERS.filter((p) => p !== row?.provider)].filter((p) => this.deps.available.has(p));
      const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: row.userId }, select: { email: true } });
      const request = { verificationId, reference: applicantReference(verificationId, attempt), userId: row.userId, email: user.email, level: row.level as KycLevel };
      const created = await refusalOf(this.deps.providers.withFallback(order, "createApplicant", (provider, signal) => provider.createApplicant(request, signal)));
      const fellBack = created.provider !== row.provider;
      await this.deps.unitOfWork.run(SYSTEM, async (scope) => {
        const { applicantId, checkId, url } = created.value;
        await scope.tx.kycVerification.updateMany({ where: { id: verificationId, attempt, applicantId: null }, data: { applicantId, checkId, providerUrl: url ?? null, provider: created.provider } });
        if (fellBack) scope.audit({ action: "kyc.provider_fallback", subjectType: "verification", subjectId: verificationId, metadata: { from: row?.provider, to: created.provider, skipped: created.skipped } });
      });
      row = await this.current(verificationId, attempt);
      if (!row?.applicantId) return;
    }
    const provider = row.provider as KycProviderName;
    const ref: ProviderRef = { applicantId: row.applicantId as string, checkId: row.checkId };
    // Documents not sent yet, up to this attempt's (an earlier attempt's job may have failed before sending them).
    const documents = await this.deps.prisma.kycDocument.findMany({ where: { verificationId, attempt: { lte: attempt }, status: "UPLOADED" }, orderBy: { createdAt: "asc" } });
    for (const document of documents) {
      if (!(await this.current(verificationId, attempt))) return;
      const content = await this.deps.documents.read(row.userId, document.id);
      const fileName = `${document.type.toLowerCase()}.${EXTENSIONS[document.mime as DocumentMime]}`;
      await refusalOf(this.deps.providers.call(provider, "uploadDocument", (p, signal) => p.uploadDocument(ref, { documentId: document.id, type: document.type as never, fileName, mime: document.mime as DocumentMime, content }, signal)));
      await this.deps.prisma.kycDocument.update({ where: { id: document.id }, data: { status: "SUBMITTED" } });
    }
    // A check id stored is this attempt's (a submission clears it): a job run again asks for no second check.
    if (!row.checkId) {
      if (!(await this.current(verificationId, attempt))) return;
      const checked = await refusalOf(this.deps.providers.call(provider, "requestCheck", (p, signal) => p.requestCheck(ref, signal)));
      if (checked.checkId !== null) await this.deps.prisma.kycVerification.updateMany({ where: { id: verificationId, attempt }, data: { checkId: checked.checkId } });
    }
    await this.deps.scheduler.poll(verificationId, attempt, 1, provider === "SANDBOX" ? this.deps.config.KYC_SANDBOX_DELAY_MS : this.deps.config.KYC_POLL_INTERVAL_S * 1000);
  }

  /**
   * Asks the provider; applies its verdict; asks again later while the verification is IN_REVIEW
   * at this attempt, whatever the verdict did (news older than a webhook's changes nothing, and the
   * decision is still to come).
   */
  async poll(verificationId: string, attempt: number, round: number): Promise<void> {
    const row = await this.current(verificationId, attempt);
    if (!row?.applicantId) return;
    const verdict = await this.deps.providers.call(row.provider as KycProviderName, "getStatus", (p, signal) => p.getStatus({ applicantId: row.applicantId as string, checkId: row.checkId }, signal));
    await this.applyNews(verificationId, verdict, { attempt });
    if (await this.current(verificationId, attempt)) await this.deps.scheduler.poll(verificationId, attempt, round + 1, this.deps.config.KYC_POLL_INTERVAL_S * 1000);
  }

  /**
   * A webhook's news: the verification it names at that provider (an earlier attempt's applicant
   * names none), its verdict (or the provider's current one); `record` runs in the unit of work
   * that applies it.
   */
  async webhookNews(provider: KycProviderName, ref: { applicantId: string } | { checkId: string }, verdict: ProviderVerdict | null, record: NewsRecord): Promise<NewsOutcome> {
    const row = await this.deps.prisma.kycVerification.findFirst({ where: { provider, ...("checkId" in ref ? { checkId: ref.checkId } : { applicantId: ref.applicantId }) } });
    if (!row?.applicantId) {
      const outcome = "ignored: no verification of this service";
      await this.deps.unitOfWork.run(SYSTEM, (scope) => record(scope.tx, outcome));
      return outcome;
    }
    const news = verdict ?? (await this.deps.providers.call(provider, "getStatus", (p, signal) => p.getStatus({ applicantId: row.applicantId as string, checkId: row.checkId }, signal)));
    return this.applyNews(row.id, news, { attempt: row.attempt }, record);
  }

  /**
   * A provider's verdict, applied under the row's lock: only to a verification IN_REVIEW at the
   * attempt it is about, and only when it is newer than the latest news applied, by the provider's
   * own clock: out-of-order and late answers change nothing. `record` (a webhook delivery's) is
   * written in the same unit of work, so the news and its record commit together or not at all.
   */
  async applyNews(verificationId: string, verdict: ProviderVerdict, expect: { attempt: number }, record?: NewsRecord): Promise<NewsOutcome> {
    return this.deps.unitOfWork.run(SYSTEM, async (scope): Promise<NewsOutcome> => {
      const outcome = await this.news(scope, verificationId, verdict, expect.attempt);
      await record?.(scope.tx, outcome);
      return outcome;
    });
  }

  /** Verifications IN_REVIEW past KYC_REVIEW_TIMEOUT_S go to manual review: compliance is told, once. */
  async escalateOverdue(): Promise<number> {
    const before = new Date(this.deps.clock.now().getTime() - this.deps.config.KYC_REVIEW_TIMEOUT_S * 1000);
    const reason = `no decision within KYC_REVIEW_TIMEOUT_S (${this.deps.config.KYC_REVIEW_TIMEOUT_S} s)`;
    return this.deps.unitOfWork.run(SYSTEM, async (scope) => {
      const rows = await scope.tx.$queryRaw<(Pick<Row, "id" | "userId" | "level" | "provider"> & { submittedAt: Date })[]>`
        UPDATE kyc_verifications SET escalated_at = ${this.deps.clock.now()}, updated_at = ${this.deps.clock.now()}
        WHERE status = 'IN_REVIEW' AND escalated_at IS NULL AND submitted_at < ${before}
        RETURNING id, user_id AS "userId", level, provider, submitted_at AS "submittedAt"`;
      for (const row of rows) this.escalated(scope, row, row.submittedAt, reason);
      return rows.length;
    });
  }

  /** Hands a verification IN_REVIEW at `attempt` to manual review at once, unless it already was. */
  private async escalate(verificationId: string, attempt: number, reason: string): Promise<void> {
    await this.deps.unitOfWork.run(SYSTEM, async (scope) => {
      const { count } = await scope.tx.kycVerification.updateMany({ where: { id: verificationId, attempt, status: "IN_REVIEW", escalatedAt: null }, data: { escalatedAt: this.deps.clock.now() } });
      if (count === 0) return;
      const row = await scope.tx.kycVerification.findUniqueOrThrow({ where: { id: verificationId } });
      this.escalated(scope, row, row.submittedAt as Date, reason);
    });
  }

  // ---------------------------------------------------------------- shared steps

  /** What an escalation to manual review records: the event, compliance's notification, the audit record. */
  private escalated(scope: WorkScope, row: Pick<Row, "id" | "userId" | "level" | "provider">, submittedAt: Date, reason: string): void {
    const at = submittedAt.toISOString();
    scope.publish("kyc.escalated", row.userId, { ...this.about(row), submittedAt: at, reason });
    scope.notify({ to: this.deps.config.KYC_COMPLIANCE_EMAIL, template: "kyc-review-escalated", locale: "en", params: { verificationId: row.id, level: row.level, provider: row.provider, submittedAt: at, reason } });
    scope.audit({ action: "kyc.escalate", subjectType: "verification", subjectId: row.id, metadata: { submittedAt: at, reason } });
  }

  /** What a provider's verdict does to the verification, in the unit of work holding its lock. */
  private async news(scope: WorkScope, verificationId: string, verdict: ProviderVerdict, attempt: number): Promise<NewsOutcome> {
    const row = await this.lock(scope.tx, verificationId);
    if (row.status !== "IN_REVIEW") return `ignored: the verification is ${row.status}`;
    if (row.attempt !== attempt) return "ignored: an earlier submission";
    if (row.providerNewsAt && verdict.occurredAt < row.providerNewsAt.getTime()) return "ignored: older than the news already applied";
    const to = nextStatus("IN_REVIEW", { by: "provider", to: verdict.status });
    await scope.tx.kycVerification.update({ where: { id: verificationId }, data: { providerNewsAt: new Date(verdict.occurredAt) } });
    if (verdict.risk && (verdict.risk.score !== null || verdict.risk.labels.length > 0)) scope.publish("risk.score_updated", row.userId, { ...this.about(row), score: verdict.risk.score, labels: verdict.risk.labels });
    if (!to) return "no change";
    await this.decide(scope, row, to, fitted(verdict.reason), { by: "provider" });
    return "applied";
  }

  private async decide(scope: WorkScope, row: Row, to: KycStatus, reason: string | null, who: { by: "provider" } | { by: "reviewer"; reviewerId: string }): Promise<void> {
    const final = to === "APPROVED" || to === "REJECTED";
    const reviewerId = who.by === "reviewer" ? who.reviewerId : null;
    await scope.tx.kycVerification.update({ where: { id: row.id }, data: { status: to, reason, ...(final ? { decidedAt: this.deps.clock.now(), decidedBy: reviewerId } : {}) } });
    if (to === "APPROVED") scope.publish("user.verified", row.userId, this.about(row));
    await this.changed(scope, row, to, reason, who);
  }

  /** The change every status move records: the event (which feeds subscriptions), the user's notification, the audit record. */
  private async changed(scope: WorkScope, row: Row, to: KycStatus, reason: string | null, who: { by: "user" | "provider" } | { by: "reviewer"; reviewerId: string }): Promise<void> {
    const reviewerId = who.by === "reviewer" ? who.reviewerId : null;
    scope.publish("kyc.status_changed", row.userId, { ...this.about(row), from: row.status as KycStatus, to, reason, decidedBy: who.by, reviewerId });
    // Live, once committed: subscribers need not wait for the relay (BENCH=subscriptions measured it as the bottleneck).
    const update: VerificationStatusUpdate = { verificationId: row.id, userId: row.userId, status: to, reason, occurredAt: this.deps.clock.now() };
    scope.afterCommit(() => this.deps.changed(update));
    const user = await scope.tx.user.findUniqueOrThrow({ where: { id: row.userId }, select: { email: true, locale: true } });
    scope.notify({ to: user.email, template: "kyc-status-changed", locale: user.locale, params: { status: to, level: row.level, ...(reason ? { reason } : {}) } });
    scope.audit({ action: who.by === "reviewer" ? "kyc.review" : "kyc.status_change", subjectType: "verification", subjectId: row.id, metadata: { userId: row.userId, from: row.status, to, by: who.by, ...(reason ? { reason } : {}) } });
  }

  private transition(row: Row, transition: Parameters<typeof nextStatus>[1], field: string): KycStatus {
    try {
      return nextStatus(row.status as KycStatus, transition) ?? (row.status as KycStatus);
    } catch (error) {
      if (error instanceof IllegalTransition) throw BadUserInputError.field(field, error.message);
      throw error;
    }
  }

  private about(row: Pick<Row, "id" | "level" | "provider">) {
    return { verificationId: row.id, level: row.level as KycLevel, provider: row.provider as KycProviderName };
  }

  private async lock(tx: Tx, id: string): Promise<Row> {
    await tx.$executeRaw`SELECT 1 FROM kyc_verifications WHERE id = ${id}::uuid FOR UPDATE`;
    const row = await tx.kycVerification.findUnique({ where: { id } });
    if (!row) throw new NotFoundError("Verification");
    return row;
  }

  /** The verification if it is still IN_REVIEW at that attempt (a job of an earlier one does nothing). */
  private async current(id: string, attempt: number): Promise<Row | null> {
    const row = await this.deps.prisma.kycVerification.findUnique({ where: { id } });
    return row && row.status === "IN_REVIEW" && row.attempt === attempt ? row : null;
  }

  /** The viewer's own verification; another user's is NOT_FOUND, as one that does not exist. */
  private async own(viewer: Viewer, raw: string, field: string): Promise<Row> {
    const id = parseUuid(raw);
    if (!id) throw BadUserInputError.field(field, "must be a UUID");
    const row = await this.deps.prisma.kycVerification.findUnique({ where: { id } });
    if (!row || row.userId !== viewer.userId) throw new NotFoundError("Verification");
    return row;
  }

  private decode(contentBase64: string): Buffer {
    const limit = this.deps.config.MAX_DOCUMENT_SIZE_MB * 1024 * 1024;
    if (contentBase64.length > Math.ceil(limit / 3) * 4) throw BadUserInputError.field("input.contentBase64", `the document exceeds MAX_DOCUMENT_SIZE_MB (${this.deps.config.MAX_DOCUMENT_SIZE_MB} MB)`);
    if (contentBase64.length % 4 !== 0 || !BASE64.test(contentBase64)) throw BadUserInputError.field("input.contentBase64", "must be base64 (RFC 4648, with padding)");
    const content = Buffer.from(contentBase64, "base64");
    if (content.length === 0) throw BadUserInputError.field("input.contentBase64", "is empty");
    if (content.length > limit) throw BadUserInputError.field("input.contentBase64", `the document exceeds MAX_DOCUMENT_SIZE_MB (${this.deps.config.MAX_DOCUMENT_SIZE_MB} MB)`);
    return content;
  }

  async verification(userId: string, id: string): Promise<Verification> {
    const row = await this.deps.prisma.kycVerification.findFirst({ where: { id, userId }, include: { documents: { orderBy: { createdAt: "asc" } } } });
    if (!row) throw new NotFoundError("Verification");
    return {
      id: row.id,
      userId: row.userId,
      status: row.status as KycStatus,
      provider: row.provider as KycProviderName,
      level: row.level as KycLevel,
      reason: row.reason,
      providerUrl: row.providerUrl,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      documents: row.documents.map((d) => ({ id: d.id, type: d.type as never, status: d.status as never, contentType: d.mime, createdAt: d.createdAt })),
    };
  }

}

const EXTENSIONS: Record<DocumentMime, string> = { "image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf" };

function alreadyStarted(level: KycLevel, status: KycStatus): BadUserInputError {
  return BadUserInputError.field("input.level", status === "APPROVED" ? `the user is already verified at ${level}` : `a verification at ${level} is already open (${status}); finish it first`);
}
