import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

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

/** One webhook post: what was sent, and what the receiver answered (null: no answer). */
export interface Delivery {
  type: string;
  applicantId: string;
  body: Buffer;
  headers: Record<string, string>;
  status: number | null;
}

export interface FakeSumsubOptions {
  appToken: string;
  secretKey: string;
  webhookSecret: string;
  webhookUrl?: string;
  /** How far `X-App-Access-Ts` may be from the fake's clock (Sumsub: one minute). */
  clockSkewS?: number;
  digestAlg?: DigestAlg;
  /** Posts every webhook twice, the same bytes, as Sumsub does when it retries a delivery. */
  duplicateWebhooks?: boolean;
  /** Decides on its own `afterMs` after a check is requested, and posts `applicantReviewed`. */
  autoReview?: { afterMs: number; decide(applicant: FakeApplicant): ReviewDecision };
}

const HASHES: Record<DigestAlg, string> = { HMAC_SHA1_HEX: "sha1", HMAC_SHA256_HEX: "sha256", HMAC_SHA512_HEX: "sha512" };
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

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

/** `multipart/form-data` read back into parts (RFC 7578), independently of the adapter's writer. */
function parseMultipart(body: Buffer, contentType: string): Map<string, { fileName?: string; contentType?: string; content: Buffer }> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) throw new Refusal(400, "multipart/form-data body expected");
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts = new Map<string, { fileName?: string; contentType?: string; content: Buffer }>();
  if (body.indexOf(delimiter) !== 0) throw new Refusal(400, "malformed multipart body");
  let at = delimiter.length;
  while (body.subarray(at, at + 2).toString() === "\r\n") {
    const headEnd = body.indexOf("\r\n\r\n", at);
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headEnd);
    if (headEnd < 0 || next < 0) throw new Refusal(400, "malformed multipart body");
    const head = body.subarray(at + 2, headEnd).toString("utf8");
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? "";
    const name = /;\s*name="([^"]*)"/.exec(disposition)?.[1];
    if (name === undefined) throw new Refusal(400, "multipart part without a name");
    parts.set(name, {
      fileName: /;\s*filename="([^"]*)"/.exec(disposition)?.[1],
      contentType: /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim(),
      content: body.subarray(headEnd + 4, next),
    });
    at = next + 2 + delimiter.length;
  }
  if (body.subarray(at, at + 2).toString() !== "--") throw new Refusal(400, "malformed multipart body");
  return parts;
}

/**
 * Sumsub on loopback, with state: applicants, their documents and reviews. It checks the real
 * request signature on every call (ts + METHOD + path with query + body bytes, HMAC-SHA256 with
 * the secret key, ts within ±clockSkewS), runs the review state machine (init → pending →
 * completed; RED+RETRY takes documents again, and the first new one opens a new attempt in init),
 * answers in Sumsub's shapes (errors as `{description, code, correlationId}`), and posts signed
 * webhooks (`applicantPending`, `applicantOnHold`, `applicantReviewed`) to the webhook URL.
 * Descriptions are the fake's own words; status codes and shapes are Sumsub's.
 */
export async function startFakeSumsub(options: FakeSumsubOptions) {
  const skewS = options.clockSkewS ?? 60;
  const applicants = new Map<string, FakeApplicant>();
  const deliveries: Delivery[] = [];
  const failures: { status: number; retryAfter?: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const held: { type: string; applicantId: string; body: Buffer }[] = [];
  const closing = new AbortController();
  let webhookUrl = options.webhookUrl;
  let digestAlg: DigestAlg = options.digestAlg ?? "HMAC_SHA256_HEX";
  let hanging = false;
  let holding = false;
  let lastEventMs = 0;
  let posting = Promise.resolve();

  /** Event times strictly increase, so ordering by `createdAtMs` is always decidable. */
  const eventTime = () => (lastEventMs = Math.max(Date.now(), lastEventMs + 1));

  /** Posts one after the other, as they happened (out of order only when held and released reversed). */
  const post = (type: string, applicantId: string, body: Buffer): Promise<void> => {
    const deliver = async () => {
      if (!webhookUrl) return;
      const headers = { "content-type": "application/json", "x-payload-digest": createHmac(HASHES[digestAlg], options.webhookSecret).update(body).digest("hex"), "x-payload-digest-alg": digestAlg };
      for (let copy = 0; copy < (options.duplicateWebhooks ? 2 : 1); copy += 1) {
        const delivery: Delivery = { type, applicantId, body, headers, status: null };
        deliveries.push(delivery);
        try {
          // Sumsub waits 5 s for an answer.
          const answer = await fetch(webhookUrl, { method: "POST", headers, body, signal: AbortSignal.any([AbortSignal.timeout(5000), closing.signal]) });
          await answer.arrayBuffer();
          delivery.status = answer.status;
        } catch {
          delivery.status = null;
        }
      }
    };
    posting = posting.then(deliver);
    return posting;
  };

  /** Posts `type` for the applicant's change at `at` (the time its state records, to the ms). */
  const webhook = (applicant: FakeApplicant, type: string, at = eventTime()): Promise<void> => {
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
    const body = Buffer.from(JSON.stringify(payload));
    if (holding) {
      held.push({ type, applicantId: applicant.id, body });
      return Promise.resolve();
    }
    return post(type, applicant.id, body);
  };

  const review = (applicantId: string, decision: ReviewDecision): Promise<void> => {
    const applicant = applicants.get(applicantId);
    if (!applicant || !REVIEWABLE.has(applicant.reviewStatus)) throw new Error(`fake Sumsub: applicant ${applicantId} is not under review`);
    const at = eventTime();
    applicant.reviewStatus = "completed";
    applicant.reviewDate = sumsubDate(at);
    applicant.reviewResult = {
      reviewAnswer: decision.answer,
      rejectLabels: decision.labels ?? [],
      ...(decision.answer === "RED" ? { reviewRejectType: decision.rejectType ?? "FINAL" } : {}),
      ...(decision.comment === undefined ? {} : { moderationComment: decision.comment, clientComment: decision.comment }),
    };
    return webhook(applicant, "applicantReviewed", at);
  };

  const authenticate = (req: IncomingMessage, body: Buffer): void => {
    if (req.headers["x-app-token"] !== options.appToken) throw new Refusal(401, "Invalid App Token");
    const ts = String(req.headers["x-app-access-ts"] ?? "");
    if (!/^\d+$/.test(ts) || Math.abs(Number(ts) - Date.now() / 1000) > skewS) throw new Refusal(401, "Request timestamp is out of the allowed range");
    const expected = createHmac("sha256", options.secretKey)
      .update(`${ts}${req.method}${req.url}`)
      .update(body)
      .digest("hex");
    if (req.headers["x-app-access-sig"] !== expected) throw new Refusal(401, "Request signature mismatch");
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

  const create = (url: URL, body: Buffer): object => {
    const levelName = url.searchParams.get("levelName");
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

  const addDocument = (applicant: FakeApplicant, req: IncomingMessage, body: Buffer): [object, Record<string, string>] => {
    const retry = applicant.reviewStatus === "completed" && applicant.reviewResult?.reviewRejectType === "RETRY";
    if (applicant.reviewStatus !== "init" && !retry) throw new Refusal(409, `Documents cannot be added while the applicant is ${applicant.reviewStatus}`);
    const parts = parseMultipart(body, String(req.headers["content-type"] ?? ""));
    const metadata = JSON.parse(parts.get("metadata")?.content.toString("utf8") ?? "null") as { idDocType?: string; country?: string } | null;
    if (!metadata?.idDocType || !ID_DOC_TYPES.has(metadata.idDocType)) throw new Refusal(400, "metadata.idDocType is missing or unknown");
    if (!metadata.country || !/^[A-Z]{3}$/.test(metadata.country)) throw new Refusal(400, "metadata.country must be an ISO 3166-1 alpha-3 code");
    const content = parts.get("content");
    if (!content?.fileName || content.content.length === 0) throw new Refusal(400, "content: a file is required");
    if (retry) {
      // New documents after a RETRY open the next attempt.
      applicant.reviewStatus = "init";
      applicant.reviewResult = undefined;
      applicant.reviewDate = undefined;
    }
    applicant.documents.push({ idDocType: metadata.idDocType, country: metadata.country, fileName: content.fileName, mime: content.contentType ?? "", content: Buffer.from(content.content) });
    return [{ idDocType: metadata.idDocType, country: metadata.country }, { "x-image-id": String(applicant.documents.length) }];
  };

  const requestCheck = (applicant: FakeApplicant): object => {
    if (UNDER_WAY.has(applicant.reviewStatus)) throw new Refusal(409, `A check is already under way (${applicant.reviewStatus})`);
    if (applicant.reviewStatus !== "init") throw new Refusal(409, `The applicant's review is ${applicant.reviewStatus}`);
    if (applicant.documents.length === 0) throw new Refusal(409, "The applicant has no documents to check");
    const at = eventTime();
    applicant.reviewStatus = "pending";
    applicant.createDate = sumsubDate(at);
    applicant.attemptCnt += 1;
    void webhook(applicant, "applicantPending", at);
    const auto = options.autoReview;
    if (auto) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (REVIEWABLE.has(applicant.reviewStatus)) void review(applicant.id, auto.decide(applicant));
      }, auto.afterMs);
      timers.add(timer);
    }
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

  const route = (req: IncomingMessage, body: Buffer): [number, object, Record<string, string>?] => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (req.method === "POST" && url.pathname === "/resources/applicants") return [200, create(url, body)];
    const match = /^\/resources\/applicants\/([^/]+)\/(one|info\/idDoc|status\/pending|status)$/.exec(url.pathname);
    if (!match) throw new Refusal(404, `No such resource: ${req.method} ${url.pathname}`);
    const [, rawId, action] = match as unknown as [string, string, string];
    const id = decodeURIComponent(rawId);
    if (req.method === "GET" && action === "one") {
      const byExternal = /^-;externalUserId=(.*)$/.exec(id);
      const applicant = byExternal ? [...applicants.values()].find((a) => a.externalUserId === byExternal[1]) : applicants.get(id);
      if (!applicant) throw new Refusal(404, "Applicant not found");
      return [200, applicantJson(applicant)];
    }
    if (req.method === "POST" && action === "info/idDoc") {
      const [json, headers] = addDocument(applicantOf(id), req, body);
      return [200, json, headers];
    }
    if (req.method === "POST" && action === "status/pending") return [200, requestCheck(applicantOf(id))];
    if (req.method === "GET" && action === "status") return [200, status(applicantOf(id))];
    throw new Refusal(405, `${req.method} is not allowed on ${url.pathname}`);
  };

  const send = (res: ServerResponse, code: number, json: object, headers: Record<string, string> = {}) =>
    res.writeHead(code, { "content-type": "application/json", ...headers }).end(JSON.stringify(json));

  const server = createServer(async (req, res) => {
    // Accepted, and never answered (the client's timeout is all that ends it).
    if (hanging) return;
    const body = await readBody(req).catch(() => null);
    // The client went away midway.
    if (!body) return;
    const failure = failures.shift();
    if (failure) {
      const headers: Record<string, string> = failure.retryAfter === undefined ? {} : { "retry-after": String(failure.retryAfter) };
      return send(res, failure.status, { description: failure.status === 429 ? "Too many requests" : "Internal error", code: failure.status, correlationId: `req-${randomUUID()}` }, headers);
    }
    try {
      authenticate(req, body);
      const [code, json, headers] = route(req, body);
      send(res, code, json, headers);
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal(400, `Malformed request: ${(error as Error).message}`);
      send(res, refusal.status, { description: refusal.description, code: refusal.status, correlationId: `req-${randomUUID()}` });
    }
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", () => (server.off("error", reject), resolve())));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    applicants,
    deliveries,
    setWebhookUrl(url: string): void {
      webhookUrl = url;
    },
    setDigestAlg(alg: DigestAlg): void {
      digestAlg = alg;
    },
    /** The next `count` requests are answered `status` (with `Retry-After: retryAfter` when given), before any check. */
    failNext(count: number, status: 429 | 500 | 502 | 503, retryAfter?: number): void {
      for (let i = 0; i < count; i += 1) failures.push({ status, retryAfter });
    },
    /** While on, requests are accepted and never answered. */
    hang(on: boolean): void {
      hanging = on;
    },
    /** Stops listening and drops every connection: requests are refused until `up()`. */
    down: stop,
    /** Listens again on the same port. */
    up: () => listen(port),
    /** Completes the review of an applicant under review and posts `applicantReviewed`; resolves once posted. */
    review,
    /** Puts an applicant under review on hold and posts `applicantOnHold`. */
    putOnHold(applicantId: string): Promise<void> {
      const applicant = applicants.get(applicantId);
      if (!applicant || !REVIEWABLE.has(applicant.reviewStatus)) throw new Error(`fake Sumsub: applicant ${applicantId} is not under review`);
      applicant.reviewStatus = "onHold";
      return webhook(applicant, "applicantOnHold");
    },
    /** Keeps webhooks back until `releaseWebhooks`, to deliver them out of order. */
    holdWebhooks(): void {
      holding = true;
    },
    /** Posts the held webhooks, one after the other, in the order they happened or reversed; resolves once all are posted. */
    async releaseWebhooks(order: "as-happened" | "reversed" = "as-happened"): Promise<void> {
      holding = false;
      const batch = held.splice(0);
      if (order === "reversed") batch.reverse();
      for (const h of batch) await post(h.type, h.applicantId, h.body);
    },
    /** Resolves once every webhook post under way has been answered (or has failed). */
    async idle(): Promise<void> {
      for (let seen: Promise<void> | null = null; seen !== posting; ) await (seen = posting);
    },
    async close(): Promise<void> {
      for (const timer of timers) clearTimeout(timer);
      closing.abort();
      await posting;
      await stop();
    },
  };
}

export type FakeSumsub = Awaited<ReturnType<typeof startFakeSumsub>>;
