import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { DocumentType, KycLevel } from "../kyc.model";
import { NEUTRAL_REASONS, WebhookSignatureError, type ApplicantRequest, type KycCall, type KycProvider, type ProviderDocument, type ProviderRef, type ProviderVerdict, type WebhookNotice } from "./provider";
import { hmacHex, multipartBody, parseWebhookBody, ProviderHttp, ProviderRefusedError, singleHeader, timingSafeEqualHex } from "../../../platform/http/provider-http";

export interface SumsubOptions {
  /** `https://api.sumsub.com` (sandbox and production differ by token, not by host). */
  baseUrl: string;
  appToken: string;
  /** Signs every request (`X-App-Access-Sig`). */
  secretKey: string;
  /** Signs every webhook (`X-Payload-Digest`). */
  webhookSecret: string;
  /** The Sumsub level each of our levels is verified at (levels are named in Sumsub's dashboard). */
  levelNames: Record<KycLevel, string>;
  /** ISO 3166-1 alpha-3 country of the documents, which Sumsub requires with each; GBR unless told. */
  country?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

const ID_DOC_TYPES: Record<DocumentType, string> = {
  PASSPORT: "PASSPORT",
  ID_CARD: "ID_CARD",
  DRIVERS_LICENSE: "DRIVERS",
  SELFIE: "SELFIE",
  PROOF_OF_ADDRESS: "UTILITY_BILL",
};

/** `X-Payload-Digest-Alg` → the HMAC's hash; SHA-256 when the header is absent, as Sumsub documents. */
const DIGEST_ALGORITHMS: Record<string, string> = { HMAC_SHA256_HEX: "sha256", HMAC_SHA512_HEX: "sha512", HMAC_SHA1_HEX: "sha1" };

/** Statuses in which the check has been asked for and not decided yet: asking again is refused, and needless. */
const CHECK_REQUESTED = new Set(["pending", "queued", "prechecked", "onHold", "awaitingService"]);

interface ReviewResult {
  reviewAnswer?: string;
  rejectLabels?: string[];
  reviewRejectType?: string;
  moderationComment?: string;
}

interface ReviewStatus {
  reviewStatus?: string;
  reviewResult?: ReviewResult;
  createDate?: string;
  reviewDate?: string;
}

interface WebhookPayload {
  applicantId?: string;
  correlationId?: string;
  type?: string;
  reviewResult?: ReviewResult;
  createdAtMs?: string | number;
  createdAt?: string;
}

/** Webhook types that change a verification without saying to what: the notice asks for `getStatus`. */
const ASK_FOR_STATUS = new Set(["applicantReset", "applicantLevelChanged", "applicantWorkflowCompleted"]);

/**
 * A Sumsub time as ms since the epoch: "2020-02-21 13:23:19.111" (UTC without a zone, as in
 * `createdAtMs`, `createDate`, `reviewDate`), the same with "+0000", or a number; null otherwise.
 */
function sumsubTime(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  if (/^\d+$/.test(value)) return Number(value);
  const parts = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!parts) return null;
  const zone = (parts[3] ?? "Z").replace(/^([+-]\d{2})(\d{2})$/, "$1:$2");
  const at = Date.parse(`${parts[1]}T${parts[2]}${zone}`);
  return Number.isNaN(at) ? null : at;
}

/** Sumsub's error body is `{description, code, correlationId}`; the correlation id is what its support asks for. */
function describeError(body: unknown): string | undefined {
  const { description, correlationId } = (body ?? {}) as { description?: unknown; correlationId?: unknown };
  const said = typeof description === "string" && description !== "" ? description : undefined;
  const id = typeof correlationId === "string" ? `(correlationId ${correlationId})` : undefined;
  return said && id ? `${said} ${id}` : (said ?? id);
}

const inReview = (occurredAt: number): ProviderVerdict => ({ status: "IN_REVIEW", reason: null, occurredAt, risk: null });

/**
 * A completed review in our terms: GREEN approves; RED asks for new documents when RETRY, and
 * rejects otherwise (FINAL, or a type we do not know). The user reads Sumsub's comment for the
 * applicant (`moderationComment`), else neutral words; the reject labels go to the risk signals only.
 */
function decision(result: ReviewResult | undefined, occurredAt: number): ProviderVerdict {
  const answer = result?.reviewAnswer;
  if (answer !== "GREEN" && answer !== "RED") throw new Error(`Sumsub reported a completed review without a GREEN or RED answer (${String(answer)})`);
  const labels = result?.rejectLabels ?? [];
  const risk = labels.length > 0 ? { score: null, labels } : null;
  if (answer === "GREEN") return { status: "APPROVED", reason: null, occurredAt, risk };
  const status = result?.reviewRejectType === "RETRY" ? "RESUBMISSION_REQUIRED" : "REJECTED";
  return { status, reason: result?.moderationComment || NEUTRAL_REASONS[status], occurredAt, risk };
}

/**
 * Sumsub over its REST API (docs.sumsub.com/reference). Every request is signed with the app
 * token's secret; the applicant carries the review (no separate check), and webhooks are signed
 * with the webhook secret over the raw body.
 */
export class SumsubProvider implements KycProvider {
  readonly name = "SUMSUB" as const;
  /** An applicant is created once per externalUserId (a second create is a 409, answered with the first); a second check request is a 409 while one is under way. */
  readonly idempotent: ReadonlySet<KycCall> = new Set(["createApplicant", "requestCheck", "getStatus"]);
  private readonly now: () => number;
  private readonly http: ProviderHttp;

  constructor(private readonly options: SumsubOptions) {
    this.now = options.now ?? Date.now;
    this.http = new ProviderHttp("Sumsub", { describeError, redact: [options.appToken], fetch: options.fetch });
  }

  /** Idempotent by the attempt's reference (Sumsub's externalUserId): a second create answers the applicant the first made. */
  async createApplicant(request: ApplicantRequest, signal: AbortSignal): Promise<ProviderRef> {
    const path = `/resources/applicants?levelName=${encodeURIComponent(this.options.levelNames[request.level])}`;
    const body = { bytes: Buffer.from(JSON.stringify({ externalUserId: request.reference, email: request.email })), contentType: "application/json" };
    try {
      const applicant = await this.call<{ id: string }>("createApplicant", "POST", path, signal, body, [request.email]);
      return { applicantId: applicant.id, checkId: null };
    } catch (error) {
      // 409: an applicant with this externalUserId exists (an earlier attempt got through, its answer did not).
      if (!(error instanceof ProviderRefusedError && error.status === 409)) throw error;
      const existing = await this.call<{ id: string }>("createApplicant", "GET", `/resources/applicants/-;externalUserId=${encodeURIComponent(request.reference)}/one`, signal);
      return { applicantId: existing.id, checkId: null };
    }
  }

  async uploadDocument(ref: ProviderRef, document: ProviderDocument, signal: AbortSignal): Promise<void> {
    const metadata = JSON.stringify({ idDocType: ID_DOC_TYPES[document.type], country: this.options.country ?? "GBR" });
    const { body, contentType } = multipartBody([
      { name: "metadata", content: metadata },
      { name: "content", content: document.content, fileName: document.fileName, contentType: document.mime },
    ]);
    await this.call("uploadDocument", "POST", `${this.applicantPath(ref)}/info/idDoc`, signal, { bytes: body, contentType });
  }

  /**
   * Asks Sumsub to review the applicant. Sumsub refuses a second request while the first is under
   * review; that refusal, for an applicant under review, is the success of a request whose answer
   * was lost (a retry after a timeout), not an error.
   */
  async requestCheck(ref: ProviderRef, signal: AbortSignal): Promise<ProviderRef> {
    try {
      await this.call("requestCheck", "POST", `${this.applicantPath(ref)}/status/pending?reason=submitted`, signal);
    } catch (error) {
      if (!(error instanceof ProviderRefusedError && error.status === 409)) throw error;
      const { reviewStatus } = await this.reviewStatus(ref, "requestCheck", signal);
      if (!CHECK_REQUESTED.has(reviewStatus ?? "")) throw error;
    }
    return ref;
  }

  /**
   * The review in our terms, timed by Sumsub's own clock, like its webhooks: when completed, the
   * review's date; before that, the date the current check began (`createDate`, per attempt).
   */
  async getStatus(ref: ProviderRef, signal: AbortSignal): Promise<ProviderVerdict> {
    const status = await this.reviewStatus(ref, "getStatus", signal);
    if (status.reviewStatus !== "completed") return inReview(sumsubTime(status.createDate) ?? this.now());
    return decision(status.reviewResult, sumsubTime(status.reviewDate) ?? sumsubTime(status.createDate) ?? this.now());
  }

  /**
   * The delivery id is the event's correlation id with its type: Sumsub re-sends the same event
   * with the same correlationId, and each request that causes an event has its own. (A hash of the
   * body would do for byte-identical retries, but not if Sumsub re-serialises.) The hash is the
   * fallback for a payload without a correlationId.
   */
  parseWebhook(rawBody: Buffer, headers: IncomingHttpHeaders, now: number): WebhookNotice | null {
    this.verifyDigest(rawBody, headers);
    const payload = parseWebhookBody<WebhookPayload>("Sumsub", rawBody);
    const { applicantId, type } = payload;
    if (typeof applicantId !== "string" || typeof type !== "string") return null;
    const occurredAt = sumsubTime(payload.createdAtMs) ?? sumsubTime(payload.createdAt) ?? now;
    let verdict: ProviderVerdict | null;
    if (type === "applicantReviewed") verdict = decision(payload.reviewResult, occurredAt);
    else if (type === "applicantPending" || type === "applicantOnHold") verdict = inReview(occurredAt);
    else if (ASK_FOR_STATUS.has(type)) verdict = null;
    else return null;
    const correlation = typeof payload.correlationId === "string" && payload.correlationId !== "" ? payload.correlationId : `sha256:${createHash("sha256").update(rawBody).digest("hex")}`;
    return { deliveryId: `sumsub:${type}:${correlation}`, ref: { applicantId }, occurredAt, verdict };
  }

  private verifyDigest(rawBody: Buffer, headers: IncomingHttpHeaders): void {
    const algorithmName = singleHeader(headers, "x-payload-digest-alg") ?? "HMAC_SHA256_HEX";
    const algorithm = Object.hasOwn(DIGEST_ALGORITHMS, algorithmName) ? DIGEST_ALGORITHMS[algorithmName] : undefined;
    if (!algorithm) throw new WebhookSignatureError(`Sumsub webhook: unsupported X-Payload-Digest-Alg ${JSON.stringify(algorithmName.slice(0, 40))}`);
    const given = singleHeader(headers, "x-payload-digest");
    if (!given) throw new WebhookSignatureError("Sumsub webhook: no X-Payload-Digest");
    if (!timingSafeEqualHex(given, hmacHex(algorithm, this.options.webhookSecret, rawBody))) throw new WebhookSignatureError("Sumsub webhook: X-Payload-Digest does not match the body");
  }

  private reviewStatus(ref: ProviderRef, call: string, signal: AbortSignal): Promise<ReviewStatus> {
    return this.call<ReviewStatus>(call, "GET", `${this.applicantPath(ref)}/status`, signal);
  }

  private applicantPath(ref: ProviderRef): string {
    return `/resources/applicants/${encodeURIComponent(ref.applicantId)}`;
  }

  /**
   * One signed request: `X-App-Access-Sig` is the hex HMAC-SHA256 of ts + METHOD + path with
   * query + the body's exact bytes (docs.sumsub.com/reference/authentication).
   */
  private async call<T>(call: string, method: "GET" | "POST", path: string, signal: AbortSignal, body?: { bytes: Buffer; contentType: string }, redact?: string[]): Promise<T> {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, "")}${path}`);
    const ts = String(Math.floor(this.now() / 1000));
    const signature = hmacHex("sha256", this.options.secretKey, `${ts}${method}${url.pathname}${url.search}`, body?.bytes ?? "");
    const headers: Record<string, string> = { accept: "application/json", "x-app-token": this.options.appToken, "x-app-access-ts": ts, "x-app-access-sig": signature };
    if (body) headers["content-type"] = body.contentType;
    return this.http.json<T>(call, { method, url: url.href, headers, body: body?.bytes, signal, redact });
  }
}
