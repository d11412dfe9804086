import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { systemClock, type Clock } from "../../../platform/clock";
import type { DocumentType } from "../kyc.model";
import { NEUTRAL_REASONS, WebhookSignatureError, type ApplicantRequest, type KycCall, type KycProvider, type ProviderDocument, type ProviderRef, type ProviderVerdict, type WebhookNotice } from "./provider";
import { hmacHex, parseWebhookBody, ProviderHttp, singleHeader, timingSafeEqualHex } from "../../../platform/http/provider-http";

export interface OnfidoOptions {
  /** With the API version, e.g. `https://api.eu.onfido.com/v3.6` (the region is in the host). */
  baseUrl: string;
  apiToken: string;
  /** The token Onfido shows when the webhook is registered: the HMAC key of `X-SHA2-Signature`. */
  webhookToken: string;
  /** The reports every check asks for. */
  reportNames?: string[];
  clock?: Clock;
}

const DEFAULT_REPORTS = ["document", "facial_similarity_photo"];

/**
 * Onfido's document types (`DocumentTypes` in onfido-node's api.ts). We do not know which kind a
 * proof of address is; `utility_bill` is the generic one that the proof_of_address report takes.
 * A selfie is no document: it goes to /live_photos.
 */
const DOCUMENT_TYPES: Record<Exclude<DocumentType, "SELFIE">, string> = {
  PASSPORT: "passport",
  ID_CARD: "national_identity_card",
  DRIVERS_LICENSE: "driving_licence",
  PROOF_OF_ADDRESS: "utility_bill",
};

/** Check statuses in which Onfido is still working (or waiting): our IN_REVIEW. */
const UNDER_REVIEW = new Set(["in_progress", "awaiting_applicant", "paused", "reopened"]);

interface Check {
  id: string;
  status?: string;
  result?: string | null;
}

interface Report {
  name: string;
  result?: string | null;
  /** Document reports only: `rejected` means the images could not be processed (quality, unsupported document). */
  sub_result?: string | null;
  breakdown?: Record<string, { result?: string | null } | null | undefined>;
}

interface WebhookBody {
  payload?: { resource_type?: string; action?: string; object?: { id?: unknown; status?: string; started_at_iso8601?: string; completed_at_iso8601?: string } };
}

/**
 * Onfido (Entrust) API v3.6: an applicant, its documents and live photo, then a check made of
 * `reportNames`. The check carries the decision, so the ref gains a check id at requestCheck and
 * the webhooks name checks, not applicants.
 */
export class OnfidoProvider implements KycProvider {
  readonly name = "ONFIDO";
  /** Every POST makes a new applicant, document or check: only the reads may be sent twice. */
  readonly idempotent: ReadonlySet<KycCall> = new Set(["getStatus"]);
  private readonly http: ProviderHttp;
  private readonly baseUrl: string;
  private readonly reportNames: string[];
  private readonly clock: Clock;

  constructor(private readonly options: OnfidoOptions) {
    this.http = new ProviderHttp("Onfido", { redact: [options.apiToken] });
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.reportNames = options.reportNames ?? DEFAULT_REPORTS;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Onfido requires first and last names, and we hold none before the document is read. The
   * placeholders are no personal data and make the applicant findable from our side: "Applicant"
   * and the attempt's reference. The document report reads the real names from the document; its
   * data_comparison breakdown compares them with these placeholders, so the account's report
   * settings must leave data_comparison out of the result (or the names be updated first).
   */
  async createApplicant(request: ApplicantRequest, signal: AbortSignal): Promise<ProviderRef> {
    const applicant = await this.send<{ id: string }>("createApplicant", "/applicants", jsonBody({ first_name: "Applicant", last_name: request.reference, email: request.email }), signal);
    return { applicantId: applicant.id, checkId: null };
  }

  async uploadDocument(ref: ProviderRef, document: ProviderDocument, signal: AbortSignal): Promise<void> {
    const form = new FormData();
    form.append("applicant_id", ref.applicantId);
    if (document.type !== "SELFIE") form.append("type", DOCUMENT_TYPES[document.type]);
    form.append("file", new Blob([document.content], { type: document.mime }), document.fileName);
    await this.send("uploadDocument", document.type === "SELFIE" ? "/live_photos" : "/documents", { body: form, headers: {} }, signal);
  }

  async requestCheck(ref: ProviderRef, signal: AbortSignal): Promise<ProviderRef> {
    const check = await this.send<Check>("requestCheck", "/checks", jsonBody({ applicant_id: ref.applicantId, report_names: this.reportNames }), signal);
    return { ...ref, checkId: check.id };
  }

  /**
   * The check's status and result. Neither the check nor its reports carry the time of their
   * last change (only `created_at`), so the verdict is stamped with the time it was read: the
   * status held then, and a creation time would make every read decision look older than the
   * IN_REVIEW before it.
   */
  async getStatus(ref: ProviderRef, signal: AbortSignal): Promise<ProviderVerdict> {
    if (ref.checkId === null) throw new Error(`Onfido getStatus: applicant ${ref.applicantId} has no check yet (requestCheck first)`);
    const check = await this.send<Check>("getStatus", `/checks/${encodeURIComponent(ref.checkId)}`, null, signal);
    const occurredAt = this.clock.now().getTime();
    if (check.status !== "complete") {
      const verdict = verdictOfStatus(check.status, occurredAt);
      if (!verdict) throw new Error(`Onfido getStatus: check ${check.id} has an unknown status ${String(check.status)}`);
      return verdict;
    }
    if (check.result === "clear") return { status: "APPROVED", reason: null, occurredAt, risk: null };
    if (check.result !== "consider") throw new Error(`Onfido getStatus: complete check ${check.id} has an unknown result ${String(check.result)}`);
    const { reports } = await this.send<{ reports: Report[] }>("getStatus", `/reports?check_id=${encodeURIComponent(check.id)}`, null, signal);
    return considered(reports, occurredAt);
  }

  /**
   * Only check events name a verification (report and workflow events are null: the check event
   * follows). Their object has a status but no result: a status that says it all (in progress,
   * withdrawn) is the verdict, while a completed check's verdict is null and the module asks
   * getStatus. The delivery id is the SHA-256 of the raw body, which names the
   * check, the action, the status and its time: a retry of one event carries the same bytes
   * (they are what is signed), while id + action alone would merge two reopenings of one check.
   */
  parseWebhook(rawBody: Buffer, headers: IncomingHttpHeaders, now: number): WebhookNotice | null {
    const signature = singleHeader(headers, "x-sha2-signature");
    if (!signature) throw new WebhookSignatureError("Onfido webhook without an X-SHA2-Signature header");
    if (!timingSafeEqualHex(signature, hmacHex("sha256", this.options.webhookToken, rawBody))) throw new WebhookSignatureError("Onfido webhook X-SHA2-Signature does not match the body");
    const { payload } = parseWebhookBody<WebhookBody>("Onfido", rawBody);
    const object = payload?.object;
    if (payload?.resource_type !== "check" || typeof object?.id !== "string") return null;
    const at = Date.parse(object.completed_at_iso8601 ?? object.started_at_iso8601 ?? "");
    const occurredAt = Number.isNaN(at) ? now : at;
    return {
      deliveryId: createHash("sha256").update(rawBody).digest("hex"),
      ref: { checkId: object.id },
      occurredAt,
      verdict: verdictOfStatus(object.status, occurredAt),
    };
  }

  private send<T>(call: string, path: string, content: { body: string | FormData; headers: Record<string, string> } | null, signal: AbortSignal): Promise<T> {
    return this.http.json<T>(call, {
      method: content ? "POST" : "GET",
      url: `${this.baseUrl}${path}`,
      headers: { authorization: `Token token=${this.options.apiToken}`, accept: "application/json", ...content?.headers },
      body: content?.body,
      signal,
    });
  }
}

const jsonBody = (value: object) => ({ body: JSON.stringify(value), headers: { "content-type": "application/json" } });

/**
 * What a check's status says by itself; null for `complete` (the result decides) and for statuses
 * we do not know. A withdrawn check judged nobody: the documents are asked for again.
 */
function verdictOfStatus(status: string | undefined, occurredAt: number): ProviderVerdict | null {
  if (status !== undefined && UNDER_REVIEW.has(status)) return { status: "IN_REVIEW", reason: null, occurredAt, risk: null };
  if (status === "withdrawn") return { status: "RESUBMISSION_REQUIRED", reason: "The check was withdrawn: please submit your documents again", occurredAt, risk: null };
  return null;
}

/**
 * A `consider` check, read from its reports. When every report that considers says only that its
 * images could not be used (a document report's `rejected` sub-result, or `image_integrity` as the
 * only breakdown to consider), new pictures may pass: RESUBMISSION_REQUIRED. Anything else
 * (suspected or cautioned documents, a face that does not match) is REJECTED. The user reads
 * neutral words; the labels (Onfido's report and breakdown names, never the data they compared)
 * go to the risk signals only.
 */
function considered(reports: Report[], occurredAt: number): ProviderVerdict {
  const flagged = reports.filter((r) => r.result === "consider" || r.result === "unidentified");
  const findings = flagged.map((report) => {
    const breakdowns = Object.entries(report.breakdown ?? {})
      .filter(([, part]) => part?.result === "consider")
      .map(([name]) => name);
    const imagesOnly = report.sub_result === "rejected" || (breakdowns.length > 0 && breakdowns.every((name) => name === "image_integrity"));
    return { imagesOnly, labels: breakdowns.length > 0 ? breakdowns.map((name) => `${report.name}.${name}`) : [report.name] };
  });
  const status = findings.length > 0 && findings.every((f) => f.imagesOnly) ? "RESUBMISSION_REQUIRED" : "REJECTED";
  return {
    status,
    reason: NEUTRAL_REASONS[status],
    occurredAt,
    risk: { score: null, labels: findings.flatMap((f) => f.labels) },
  };
}
