import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { FakeTimers, readMultipart, startProviderFake, WebhookSender, type FailureStatus, type FakeReply, type FakeRequest, type WebhookOptions } from "./fake-server";

export type DigestAlg = "HMAC_SHA1_HEX" | "HMAC_SHA256_HEX" | "HMAC_SHA512_HEX";
export type ReviewStatus = "init" | "pending" | "queued" | "prechecked" | "onHold" | "completed";

export interface ReviewDecision {
  answer: "GREEN" | "RED";
  rejectType?: "RETRY" | "FINAL";
  labels?: string[];
  comment?: string;
}

export interface FakeDocument {
  idDocType: string;
  country: string;
  fileName: string;
  mime: string;
  content: Buffer;
}

export interface FakeApplicant {
  id: string;
  inspectionId: string;
  externalUserId: string;
  levelName: string;
  email: string | undefined;
  createdAt: string;
  reviewStatus: ReviewStatus;
  reviewResult: { reviewAnswer: "GREEN" | "RED"; rejectLabels: string[]; reviewRejectType?: "RETRY" | "FINAL"; moderationComment?: string; clientComment?: string } | undefined;
  /** The current check's start and end (`createDate`, `reviewDate` of the status resource). */
  createDate: string;
  reviewDate: string | undefined;
  attemptCnt: number;
  documents: FakeDocument[];
}

export interface FakeSumsubOptions extends WebhookOptions {
  appToken: string;
  secretKey: string;
  webhookSecret: string;
  /** How far `X-App-Access-Ts` may be from the fake's clock (Sumsub: one minute). */
  clockSkewS?: number;
  digestAlg?: DigestAlg;
  /** Decides on its own `afterMs` after a check is requested, and posts `applicantReviewed`. */
  autoReview?: { afterMs: number; decide(applicant: FakeApplicant): ReviewDecision };
}

/** `X-Payload-Digest-Alg` → the HMAC's hash. */
export const DIGEST_HASHES: Record<DigestAlg, string> = { HMAC_SHA1_HEX: "sha1", HMAC_SHA256_HEX: "sha256", HMAC_SHA512_HEX: "sha512" };
const ID_DOC_TYPES = new Set(["PASSPORT", "ID_CARD", "DRIVERS", "RESIDENCE_PERMIT", "SELFIE", "UTILITY_BILL"]);
/** Sumsub refuses a new check request while one is under way (docs.sumsub.com/reference/request-applicant-check). */
const UNDER_WAY = new Set<ReviewStatus>(["pending", "queued", "prechecked"]);
const REVIEWABLE = new Set<ReviewStatus>(["pending", "queued", "prechecked", "onHold"]);

/** Sumsub's date format: UTC, no zone, "2020-02-21 13:23:19" (with ".111" in `createdAtMs`). */
const sumsubDate = (ms: number, withMs = false) => new Date(ms).toISOString().replace("T", " ").slice(0, withMs ? 23 : 19);
const objectId = () => randomBytes(12).toString("hex");

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
  ) {
    super(description);
  }
}

/**
 * Sumsub on loopback, with state: applicants, their documents and reviews. It checks the real
 * request signature on every call (ts + METHOD + path with query + body bytes, HMAC-SHA256 with
 * the secret key, ts within ±clockSkewS), runs the review state machine (init → pending →
 * completed; RED+RETRY takes documents again, and the first new one opens a new attempt in init),
 * answers in Sumsub's shapes (errors as `{description, code, correlationId}`), and posts signed
 * webhooks (`applicantPending`, `applicantOnHold`, `applicantReviewed`) to the webhook URL, their
 * `X-Payload-Digest` made at each post with the algorithm `setDigestAlg` chose.
 * Descriptions are the fake's own words; status codes and shapes are Sumsub's.
 */
export async function startFakeSumsub(options: FakeSumsubOptions) {
  const skewS = options.clockSkewS ?? 60;
  const applicants = new Map<string, FakeApplicant>();
  const timers = new FakeTimers();
  let digestAlg: DigestAlg = options.digestAlg ?? "HMAC_SHA256_HEX";
  let lastEventMs = 0;
  const webhooks = new WebhookSender((body) => ({ "x-payload-digest": createHmac(DIGEST_HASHES[digestAlg], options.webhookSecret).update(body).digest("hex"), "x-payload-digest-alg": digestAlg }), options);

  /** Event times strictly increase, so ordering by `createdAtMs` is always decidable. */
  const eventTime = () => (lastEventMs = Math.max(Date.now(), lastEventMs + 1));

  /** Posts `type` for the applicant's change at `at` (the time its state records, to the ms). */
  const webhook = (applicant: FakeApplicant, type: string, at = eventTime()): void => {
    const payload = {
      applicantId: applicant.id,
      inspectionId: applicant.inspectionId,
      applicantType: "individual",
      correlationId: `req-${randomUUID()}`,
      levelName: applicant.levelName,
      sandboxMode: true,
      externalUserId: applicant.externalUserId,
      type,
      ...(applicant.reviewResult && type === "applicantReviewed" ? { reviewResult: applicant.reviewResult } : {}),
      reviewStatus: applicant.reviewStatus,
      createdAt: `${sumsubDate(at)}+0000`,
      createdAtMs: sumsubDate(at, true),
      clientId: "fake-client",
    };
    webhooks.emit(type, JSON.stringify(payload));
  };

  const underReview = (applicantId: string): FakeApplicant => {
    const applicant = applicants.get(applicantId);
    if (!applicant || !REVIEWABLE.has(applicant.reviewStatus)) throw new Error(`fake Sumsub: applicant ${applicantId} is not under review`);
    return applicant;
  };

  const review = (applicantId: string, decision: ReviewDecision): void => {
    const applicant = underReview(applicantId);
    const at = eventTime();
    applicant.reviewStatus = "completed";
    applicant.reviewDate = sumsubDate(at);
    applicant.reviewResult = {
      reviewAnswer: decision.answer,
      rejectLabels: decision.labels ?? [],
      ...(decision.answer === "RED" ? { reviewRejectType: decision.rejectType ?? "FINAL" } : {}),
      ...(decision.comment === undefined ? {} : { moderationComment: decision.comment, clientComment: decision.comment }),
    };
    webhook(applicant, "applicantReviewed", at);
  };

  const authenticate = (request: FakeRequest): void => {
    if (request.headers["x-app-token"] !== options.appToken) throw new Refusal(401, "Invalid App Token");
    const ts = String(request.headers["x-app-access-ts"] ?? "");
    if (!/^\d+$/.test(ts) || Math.abs(Number(ts) - Date.now() / 1000) > skewS) throw new Refusal(401, "Request timestamp is out of the allowed range");
    const expected = createHmac("sha256", options.secretKey)
      .update(`${ts}${request.method}${request.target}`)
      .update(request.body)
      .digest("hex");
    if (request.headers["x-app-access-sig"] !== expected) throw new Refusal(401, "Request signature mismatch");
  };

  const applicantOf = (id: string): FakeApplicant => {
    const applicant = applicants.get(id);
    if (!applicant) throw new Refusal(404, "Applicant not found");
    return applicant;
  };

  const applicantJson = (a: FakeApplicant) => ({
    id: a.id,
    createdAt: a.createdAt,
    key: "FAKEKEY",
    clientId: "fake-client",
    inspectionId: a.inspectionId,
    externalUserId: a.externalUserId,
    ...(a.email === undefined ? {} : { email: a.email }),
    applicantPlatform: "API",
    review: { reviewId: objectId(), attemptId: objectId(), attemptCnt: a.attemptCnt, levelName: a.levelName, createDate: a.createDate, reviewStatus: a.reviewStatus, priority: 0 },
    lang: "en",
    type: "individual",
    levelName: a.levelName,
  });

  const create = ({ query, body }: FakeRequest): object => {
    const levelName = query.get("levelName");
    if (!levelName) throw new Refusal(400, "levelName is required");
    const request = JSON.parse(body.toString("utf8")) as { externalUserId?: unknown; email?: unknown };
    if (typeof request.externalUserId !== "string" || request.externalUserId === "") throw new Refusal(400, "externalUserId is required");
    // Sumsub echoes what it was sent in some validation errors: the adapter must not pass that on.
    if (typeof request.email === "string" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(request.email)) throw new Refusal(400, `Invalid email: ${request.email}`);
    const existing = [...applicants.values()].find((a) => a.externalUserId === request.externalUserId);
    if (existing) throw new Refusal(409, `Applicant with external user id '${request.externalUserId}' already exists: ${existing.id}`);
    const now = sumsubDate(eventTime());
    const applicant: FakeApplicant = {
      id: objectId(),
      inspectionId: objectId(),
      externalUserId: request.externalUserId,
      levelName,
      email: typeof request.email === "string" ? request.email : undefined,
      createdAt: now,
      reviewStatus: "init",
      reviewResult: undefined,
      createDate: now,
      reviewDate: undefined,
      attemptCnt: 0,
      documents: [],
    };
    applicants.set(applicant.id, applicant);
    return applicantJson(applicant);
  };

  const addDocument = async (applicant: FakeApplicant, request: FakeRequest): Promise<FakeReply> => {
    const retry = applicant.reviewStatus === "completed" && applicant.reviewResult?.reviewRejectType === "RETRY";
    if (applicant.reviewStatus !== "init" && !retry) throw new Refusal(409, `Documents cannot be added while the applicant is ${applicant.reviewStatus}`);
    const form = await readMultipart(request);
    if (!form) throw new Refusal(400, "multipart/form-data body expected");
    const metadata = JSON.parse(form.fields.metadata ?? "null") as { idDocType?: string; country?: string } | null;
    if (!metadata?.idDocType || !ID_DOC_TYPES.has(metadata.idDocType)) throw new Refusal(400, "metadata.idDocType is missing or unknown");
    if (!metadata.country || !/^[A-Z]{3}$/.test(metadata.country)) throw new Refusal(400, "metadata.country must be an ISO 3166-1 alpha-3 code");
    const content = form.files.content;
    if (!content?.name || content.content.length === 0) throw new Refusal(400, "content: a file is required");
    if (retry) {
      // New documents after a RETRY open the next attempt.
      applicant.reviewStatus = "init";
      applicant.reviewResult = undefined;
      applicant.reviewDate = undefined;
    }
    applicant.documents.push({ idDocType: metadata.idDocType, country: metadata.country, fileName: content.name, mime: content.type, content: content.content });
    return { status: 200, body: { idDocType: metadata.idDocType, country: metadata.country }, headers: { "x-image-id": String(applicant.documents.length) } };
  };

  const requestCheck = (applicant: FakeApplicant): object => {
    if (UNDER_WAY.has(applicant.reviewStatus)) throw new Refusal(409, `A check is already under way (${applicant.reviewStatus})`);
    if (applicant.reviewStatus !== "init") throw new Refusal(409, `The applicant's review is ${applicant.reviewStatus}`);
    if (applicant.documents.length === 0) throw new Refusal(409, "The applicant has no documents to check");
    const at = eventTime();
    applicant.reviewStatus = "pending";
    applicant.createDate = sumsubDate(at);
    applicant.attemptCnt += 1;
    webhook(applicant, "applicantPending", at);
    const auto = options.autoReview;
    // Unless a test decided it first.
    if (auto) timers.after(auto.afterMs, () => REVIEWABLE.has(applicant.reviewStatus) && review(applicant.id, auto.decide(applicant)));
    return { ok: 1 };
  };

  const status = (a: FakeApplicant): object => ({
    reviewId: objectId(),
    attemptId: objectId(),
    attemptCnt: a.attemptCnt,
    levelName: a.levelName,
    createDate: a.createDate,
    ...(a.reviewDate ? { reviewDate: a.reviewDate } : {}),
    ...(a.reviewResult ? { reviewResult: a.reviewResult } : {}),
    reviewStatus: a.reviewStatus,
    priority: 0,
  });

  const route = async (request: FakeRequest): Promise<FakeReply> => {
    const ok = (body: object): FakeReply => ({ status: 200, body });
    const { method, path } = request;
    if (method === "POST" && path === "/resources/applicants") return ok(create(request));
    const match = /^\/resources\/applicants\/([^/]+)\/(one|info\/idDoc|status\/pending|status)$/.exec(path);
    if (!match) throw new Refusal(404, `No such resource: ${method} ${path}`);
    const [, rawId, action] = match as unknown as [string, string, string];
    const id = decodeURIComponent(rawId);
    if (method === "GET" && action === "one") {
      const byExternal = /^-;externalUserId=(.*)$/.exec(id);
      const applicant = byExternal ? [...applicants.values()].find((a) => a.externalUserId === byExternal[1]) : applicants.get(id);
      if (!applicant) throw new Refusal(404, "Applicant not found");
      return ok(applicantJson(applicant));
    }
    if (method === "POST" && action === "info/idDoc") return addDocument(applicantOf(id), request);
    if (method === "POST" && action === "status/pending") return ok(requestCheck(applicantOf(id)));
    if (method === "GET" && action === "status") return ok(status(applicantOf(id)));
    throw new Refusal(405, `${method} is not allowed on ${path}`);
  };

  const errorBody = (status: number, description: string) => ({ description, code: status, correlationId: `req-${randomUUID()}` });

  async function handle(request: FakeRequest): Promise<FakeReply> {
    try {
      authenticate(request);
      return await route(request);
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal(400, `Malformed request: ${(error as Error).message}`);
      return { status: refusal.status, body: errorBody(refusal.status, refusal.description) };
    }
  }

  const server = await startProviderFake({ handle, webhooks, timers, errorBody: (status: FailureStatus) => errorBody(status, status === 429 ? "Too many requests" : "Internal error") });
  return {
    ...server,
    applicants,
    setDigestAlg(alg: DigestAlg): void {
      digestAlg = alg;
    },
    /** Completes the review of an applicant under review and posts `applicantReviewed`. */
    review,
    /** Puts an applicant under review on hold and posts `applicantOnHold`. */
    putOnHold(applicantId: string): void {
      const applicant = underReview(applicantId);
      applicant.reviewStatus = "onHold";
      webhook(applicant, "applicantOnHold");
    },
  };
}

export type FakeSumsub = Awaited<ReturnType<typeof startFakeSumsub>>;
