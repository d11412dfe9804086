import { createHmac, randomUUID } from "node:crypto";
import { FakeTimers, readMultipart, startProviderFake, WebhookSender, type FailureStatus, type FakeReply, type FakeRequest, type Multipart, type WebhookOptions } from "./fake-server";

/** What the fake stores of an upload: Onfido's document or live photo object, and the bytes. */
export interface OnfidoUpload {
  id: string;
  applicant_id: string;
  /** Documents only (live photos have no type). */
  type?: string;
  file_name: string;
  file_type: string;
  file_size: number;
  created_at: string;
  href: string;
  download_href: string;
  content: Buffer;
}

export interface OnfidoCheck {
  id: string;
  applicant_id: string;
  status: "in_progress" | "complete" | "withdrawn";
  result: "clear" | "consider" | null;
  report_ids: string[];
  created_at: string;
  href: string;
  results_uri: string;
  form_uri: null;
  applicant_provides_data: false;
  paused: false;
  sandbox: true;
  tags: string[];
  version: "3.6";
}

export interface OnfidoReport {
  id: string;
  check_id: string;
  name: string;
  status: "awaiting_data" | "complete" | "withdrawn";
  result: "clear" | "consider" | null;
  sub_result: "clear" | "rejected" | "suspected" | "caution" | null;
  breakdown: Record<string, { result: "clear" | "consider" }>;
  properties: Record<string, never>;
  created_at: string;
  href: string;
  documents: { id: string }[];
}

/** How a report comes out when it considers: a document's sub-result, and the breakdowns that consider. */
export interface ReportConsider {
  subResult?: "rejected" | "suspected" | "caution";
  breakdowns?: string[];
}

/** `clear`; `consider` (every report on its usual failure: a suspected document, a face that does not match); or per report. */
export type OnfidoOutcome = "clear" | "consider" | { consider: Record<string, ReportConsider> };

export interface OnfidoCheckState {
  check: OnfidoCheck;
  documents: OnfidoUpload[];
  livePhotos: OnfidoUpload[];
}

export interface FakeOnfidoOptions extends WebhookOptions {
  token: string;
  webhookToken: string;
  /** Decides each check by itself `afterMs` after it is created. */
  autoDecide?: { afterMs: number; decide(state: OnfidoCheckState): OnfidoOutcome | "withdrawn" };
  /** The fake's clock (ms) for the times it reports. */
  now?: () => number;
}

/** The breakdowns of the reports the fake runs (onfido-node's DocumentBreakdown, FacialSimilarityPhotoBreakdown, ...), and the usual failure of each. */
const REPORTS: Record<string, { breakdowns: string[]; consider: ReportConsider; needs: "identity" | "selfie" | "address" }> = {
  document: {
    breakdowns: ["age_validation", "compromised_document", "data_comparison", "data_consistency", "data_validation", "image_integrity", "issuing_authority", "police_record", "visual_authenticity"],
    consider: { subResult: "suspected", breakdowns: ["visual_authenticity"] },
    needs: "identity",
  },
  facial_similarity_photo: { breakdowns: ["face_comparison", "image_integrity", "visual_authenticity"], consider: { breakdowns: ["face_comparison"] }, needs: "selfie" },
  proof_of_address: { breakdowns: ["data_comparison", "document_classification", "image_integrity"], consider: { breakdowns: ["document_classification"] }, needs: "address" },
};

/** Some of Onfido's DocumentTypes: identity documents and proofs of address. */
const IDENTITY_TYPES = new Set(["passport", "driving_licence", "national_identity_card", "residence_permit", "passport_card"]);
const ADDRESS_TYPES = new Set(["utility_bill", "bank_building_society_statement", "council_tax", "benefit_letters", "mortgage_statement"]);
const FILE_TYPES: Record<string, string> = { "image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf" };
/** Onfido's upload limits (onfido-node api.ts): documents 2 KB to 3 MB, live photos 32 KB to 10 MB. */
const LIMITS = { document: [2 * 1024, 3 * 1024 * 1024], live_photo: [32 * 1024, 10 * 1024 * 1024] } as const;

const API = "/v3.6";

const error = (status: number, type: string, message: string, fields?: Record<string, string[]>): FakeReply => ({ status, body: { error: { type, message, ...(fields ? { fields } : {}) } } });
const invalid = (field: string, problem: string) => error(422, "validation_error", "There was a validation error on this request", { [field]: [problem] });

/**
 * Onfido API v3.6 on loopback (`url` ends in /v3.6, as the real base path does):
 * applicants, documents, live photos, checks and reports, with `Authorization: Token token=`,
 * Onfido's error bodies (`{ error: { type, message, fields } }`), its content types and upload
 * limits. A check starts `in_progress` and reports `awaiting_data`; `completeCheck` (or
 * `autoDecide`) completes it `clear` or `consider`, `withdrawCheck` withdraws it. Webhooks
 * (`check.started`, `report.completed`, `check.completed`, `check.withdrawn`) are signed with
 * `X-SHA2-Signature`: hex HMAC-SHA256 of the body under the webhook token.
 */
export async function startFakeOnfido(options: FakeOnfidoOptions) {
  const now = options.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const applicants = new Map<string, { id: string; first_name: string; last_name: string; email: string | null; created_at: string; href: string; sandbox: true }>();
  const documents = new Map<string, OnfidoUpload>();
  const livePhotos = new Map<string, OnfidoUpload>();
  const checks = new Map<string, OnfidoCheck>();
  const reports = new Map<string, OnfidoReport>();
  const timers = new FakeTimers();
  // Onfido sends the SHA-1 X-Signature beside X-SHA2-Signature; only the latter is worth checking.
  const webhooks = new WebhookSender(
    (body) => ({ "x-sha2-signature": createHmac("sha256", options.webhookToken).update(body).digest("hex"), "x-signature": createHmac("sha1", options.webhookToken).update(body).digest("hex") }),
    options,
  );
  const emit = (resourceType: "check" | "report", action: string, object: { id: string; status: string; href: string }, at: "started_at_iso8601" | "completed_at_iso8601") =>
    webhooks.emit(action, JSON.stringify({ payload: { resource_type: resourceType, action, object: { id: object.id, status: object.status, [at]: iso(), href: object.href } } }));
  const uploadsOf = (map: Map<string, OnfidoUpload>, applicantId: string) => [...map.values()].filter((u) => u.applicant_id === applicantId);
  const publicUpload = ({ content: _content, ...upload }: OnfidoUpload) => upload;

  function upload(form: Multipart, kind: "document" | "live_photo"): FakeReply {
    const applicantId = form.fields.applicant_id;
    if (!applicantId || !applicants.has(applicantId)) return invalid("applicant_id", "must be the id of an existing applicant");
    const file = form.files.file;
    if (!file) return invalid("file", "can't be blank");
    const fileType = FILE_TYPES[file.type];
    if (!fileType) return invalid("file", "must be jpg, png or pdf");
    const [min, max] = LIMITS[kind];
    if (file.content.length < min || file.content.length > max) return invalid("file", `must be between ${min} and ${max} bytes`);
    if (kind === "document" && !IDENTITY_TYPES.has(form.fields.type ?? "") && !ADDRESS_TYPES.has(form.fields.type ?? "")) return invalid("type", "is not a supported document type");
    const id = randomUUID();
    const path = kind === "document" ? "documents" : "live_photos";
    const stored: OnfidoUpload = {
      id,
      applicant_id: applicantId,
      ...(kind === "document" ? { type: form.fields.type } : {}),
      file_name: file.name,
      file_type: fileType,
      file_size: file.content.length,
      created_at: iso(),
      href: `${API}/${path}/${id}`,
      download_href: `${API}/${path}/${id}/download`,
      content: file.content,
    };
    (kind === "document" ? documents : livePhotos).set(id, stored);
    return { status: 201, body: publicUpload(stored) };
  }

  function createCheck(body: { applicant_id?: unknown; report_names?: unknown }): FakeReply {
    const applicantId = typeof body.applicant_id === "string" ? body.applicant_id : "";
    if (!applicants.has(applicantId)) return invalid("applicant_id", "must be the id of an existing applicant");
    const names = body.report_names;
    if (!Array.isArray(names) || names.length === 0) return invalid("report_names", "can't be blank");
    const docs = uploadsOf(documents, applicantId);
    for (const name of names) {
      const report = typeof name === "string" ? REPORTS[name] : undefined;
      if (!report) return invalid("report_names", `${String(name)} is not a report this fake runs (${Object.keys(REPORTS).join(", ")})`);
      const missing =
        (report.needs === "identity" && !docs.some((d) => IDENTITY_TYPES.has(d.type ?? ""))) ||
        (report.needs === "address" && !docs.some((d) => ADDRESS_TYPES.has(d.type ?? ""))) ||
        (report.needs === "selfie" && uploadsOf(livePhotos, applicantId).length === 0);
      if (missing) return invalid("report_names", `${name} needs ${report.needs === "selfie" ? "a live photo" : `an ${report.needs} document`} for the applicant`);
    }
    const id = randomUUID();
    const check: OnfidoCheck = {
      id,
      applicant_id: applicantId,
      status: "in_progress",
      result: null,
      report_ids: [],
      created_at: iso(),
      href: `${API}/checks/${id}`,
      results_uri: `https://dashboard.onfido.com/checks/${id}`,
      form_uri: null,
      applicant_provides_data: false,
      paused: false,
      sandbox: true,
      tags: [],
      version: "3.6",
    };
    for (const name of names as string[]) {
      const reportId = randomUUID();
      const usedDocs = REPORTS[name]?.needs === "selfie" ? [] : docs.map((d) => ({ id: d.id }));
      reports.set(reportId, { id: reportId, check_id: id, name, status: "awaiting_data", result: null, sub_result: null, breakdown: {}, properties: {}, created_at: iso(), href: `${API}/reports/${reportId}`, documents: usedDocs });
      check.report_ids.push(reportId);
    }
    checks.set(id, check);
    emit("check", "check.started", check, "started_at_iso8601");
    const auto = options.autoDecide;
    // Unless a test settled it first.
    if (auto) timers.after(auto.afterMs, () => check.status === "in_progress" && settle(id, auto.decide(stateOf(check))));
    return { status: 201, body: check };
  }

  const stateOf = (check: OnfidoCheck): OnfidoCheckState => ({ check, documents: uploadsOf(documents, check.applicant_id), livePhotos: uploadsOf(livePhotos, check.applicant_id) });
  const reportsOf = (check: OnfidoCheck) => check.report_ids.map((id) => reports.get(id) as OnfidoReport);

  function openCheck(checkId: string): OnfidoCheck {
    const check = checks.get(checkId);
    if (!check) throw new Error(`fake Onfido: no check ${checkId}`);
    if (check.status !== "in_progress") throw new Error(`fake Onfido: check ${checkId} is ${check.status}, not in_progress`);
    return check;
  }

  function completeCheck(checkId: string, outcome: OnfidoOutcome): OnfidoCheck {
    const check = openCheck(checkId);
    for (const report of reportsOf(check)) {
      const spec = REPORTS[report.name] as (typeof REPORTS)[string];
      const considers = outcome === "clear" ? undefined : outcome === "consider" ? spec.consider : outcome.consider[report.name];
      report.status = "complete";
      report.result = considers ? "consider" : "clear";
      if (report.name === "document") report.sub_result = considers ? (considers.subResult ?? "caution") : "clear";
      report.breakdown = Object.fromEntries(spec.breakdowns.map((name) => [name, { result: considers?.breakdowns?.includes(name) ? "consider" : "clear" }]));
      emit("report", "report.completed", report, "completed_at_iso8601");
    }
    check.status = "complete";
    check.result = reportsOf(check).some((r) => r.result === "consider") ? "consider" : "clear";
    emit("check", "check.completed", check, "completed_at_iso8601");
    return check;
  }

  function withdrawCheck(checkId: string): OnfidoCheck {
    const check = openCheck(checkId);
    for (const report of reportsOf(check)) report.status = "withdrawn";
    check.status = "withdrawn";
    emit("check", "check.withdrawn", check, "completed_at_iso8601");
    return check;
  }

  const settle = (checkId: string, outcome: OnfidoOutcome | "withdrawn") => (outcome === "withdrawn" ? withdrawCheck(checkId) : completeCheck(checkId, outcome));

  async function handle(request: FakeRequest): Promise<FakeReply> {
    if (request.headers.authorization !== `Token token=${options.token}`) return error(401, "authorization_error", "Authorization error: please re-check your credentials");
    if (!request.path.startsWith(`${API}/`)) return error(404, "resource_not_found", `No route ${request.method} ${request.path} (the base path is ${API})`);
    const route = `${request.method} ${request.path.slice(API.length)}`;
    const isJson = (request.headers["content-type"] ?? "").startsWith("application/json");
    if (route === "POST /applicants" || route === "POST /checks") {
      if (!isJson) return error(400, "bad_request", "The request body must be application/json");
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(request.body.toString("utf8")) as Record<string, unknown>;
      } catch {
        return error(400, "bad_request", "The request body is not valid JSON");
      }
      if (route === "POST /checks") return createCheck(body);
      const { first_name: first, last_name: last, email } = body;
      if (typeof first !== "string" || first === "") return invalid("first_name", "can't be blank");
      if (typeof last !== "string" || last === "") return invalid("last_name", "can't be blank");
      if (email !== undefined && (typeof email !== "string" || !email.includes("@"))) return invalid("email", "is not a valid email address");
      const id = randomUUID();
      const applicant = { id, first_name: first, last_name: last, email: (email as string | undefined) ?? null, created_at: iso(), href: `${API}/applicants/${id}`, sandbox: true as const };
      applicants.set(id, applicant);
      return { status: 201, body: applicant };
    }
    if (route === "POST /documents" || route === "POST /live_photos") {
      const form = await readMultipart(request);
      if (!form) return error(400, "bad_request", "The request body must be multipart/form-data");
      return upload(form, route === "POST /documents" ? "document" : "live_photo");
    }
    let match: RegExpExecArray | null;
    if ((match = /^GET \/checks\/([^/]+)$/.exec(route))) {
      const check = checks.get(decodeURIComponent(match[1] as string));
      return check ? { status: 200, body: check } : error(404, "resource_not_found", "The requested resource was not found");
    }
    if (route === "GET /reports") {
      const check = checks.get(request.query.get("check_id") ?? "");
      return check ? { status: 200, body: { reports: reportsOf(check) } } : error(404, "resource_not_found", "The requested resource was not found");
    }
    if ((match = /^GET \/(applicants|reports)\/([^/]+)$/.exec(route))) {
      const found = (match[1] === "applicants" ? applicants : reports).get(decodeURIComponent(match[2] as string));
      return found ? { status: 200, body: found } : error(404, "resource_not_found", "The requested resource was not found");
    }
    return error(404, "resource_not_found", `No route ${route}`);
  }

  const server = await startProviderFake({
    handle,
    webhooks,
    timers,
    errorBody: (status: FailureStatus) => (status === 429 ? { error: { type: "rate_limit", message: "Rate limit exceeded. Please try again later." } } : { error: { type: "internal_server_error", message: "An internal error occurred" } }),
  });

  return {
    ...server,
    url: `${server.url}${API}`,
    state: { applicants, documents, livePhotos, checks, reports },
    completeCheck,
    withdrawCheck,
  };
}

export type FakeOnfido = Awaited<ReturnType<typeof startFakeOnfido>>;
