import { createHash, createHmac, randomBytes } from "node:crypto";
import { FakeTimers, readMultipart, startProviderFake, WebhookSender, type FailureStatus, type FakeReply, type FakeRequest, type WebhookOptions } from "./fake-server";

/** A VerificationSession as Stripe answers it (stripe-node's `Stripe.Identity.VerificationSession`). */
export interface StripeSession {
  id: string;
  object: "identity.verification_session";
  client_reference_id: string | null;
  client_secret: string | null;
  created: number;
  last_error: { code: string; reason: string | null } | null;
  last_verification_report: string | null;
  livemode: false;
  metadata: Record<string, string>;
  options: { document?: Record<string, unknown> };
  provided_details: null;
  redaction: null;
  related_customer: null;
  return_url?: string;
  status: "requires_input" | "processing" | "verified" | "canceled";
  type: string;
  url: string | null;
  verified_outputs: null;
}

export interface StripeFile {
  id: string;
  object: "file";
  created: number;
  expires_at: null;
  filename: string;
  purpose: string;
  size: number;
  title: null;
  type: string;
  url: null;
}

export interface StripeEvent {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  data: { object: StripeSession };
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
}

/** What a check comes to: verified, or back to requires_input with a `last_error.code` (`document_expired`, `selfie_face_mismatch`, ...). */
export type StripeDecision = "verified" | { code: string; reason?: string };

export interface FakeStripeOptions extends WebhookOptions {
  secretKey: string;
  webhookSecret: string;
  /**
   * Plays the user and Stripe: once a session in requires_input is read (the adapter's
   * requestCheck), the fake submits it, as the user finishing the hosted flow would, and,
   * `afterMs` later, decides it.
   */
  autoDecide?: { afterMs: number; decide(state: { session: StripeSession }): StripeDecision };
  /** The fake's clock (ms) for `created`; signatures always use the real time, as Stripe signs at delivery. */
  now?: () => number;
}

/** The API version stripe-node 23 pins; events say which version rendered them. */
const API_VERSION = "2026-10-28.endive";
const FILE_TYPES: Record<string, string> = { "image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf" };

/** The parameters `POST /v1/identity/verification_sessions` takes: `true` a value, `"map"` any keys, an object its own keys. */
type Shape = true | "map" | { [key: string]: Shape };
const CREATE_PARAMS: Shape = {
  type: true,
  client_reference_id: true,
  return_url: true,
  metadata: "map",
  options: { document: { allowed_types: "map", require_id_number: true, require_live_capture: true, require_matching_selfie: true }, email: "map", phone: "map", id_number: "map" },
  provided_details: "map",
  related_customer: true,
  related_person: "map",
  verification_flow: true,
  expand: "map",
};

type Form = { [key: string]: string | Form };

const stripeError = (status: number, type: string, message: string, extra: { code?: string; param?: string } = {}): FakeReply => ({ status, body: { error: { type, message, ...extra } } });

/** `a[b][c]=v` into `{ a: { b: { c: "v" } } }`, as Stripe reads its form bodies. */
function parseForm(body: string): Form {
  const form: Form = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/\[|\]\[|\]$/).filter((part, i) => i === 0 || part !== "");
    let node = form;
    for (const part of path.slice(0, -1)) node = (typeof node[part] === "object" ? node[part] : (node[part] = {})) as Form;
    node[path[path.length - 1] as string] = value;
  }
  return form;
}

/** The first parameter `shape` does not take, written as Stripe writes it (`options[document][foo]`). */
function unknownParameter(form: Form, shape: Shape, prefix = ""): string | null {
  if (shape === "map" || shape === true) return null;
  for (const [key, value] of Object.entries(form)) {
    const name = prefix === "" ? key : `${prefix}[${key}]`;
    const inner = shape[key];
    if (inner === undefined || (inner === true && typeof value === "object")) return name;
    if (typeof value === "object") {
      const found = unknownParameter(value, inner, name);
      if (found) return found;
    }
  }
  return null;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

/**
 * Stripe Identity and Files on loopback (both hosts on one server): verification sessions
 * (create with Idempotency-Key replay, retrieve, cancel) and `POST /v1/files`, behind
 * `Authorization: Bearer <secret key>`, form-encoded bodies only (a JSON body is a 400), and
 * Stripe's error bodies (`{ error: { type, code, message, param } }`). A session moves
 * `requires_input → processing` (`submitSession`: the user finished the hosted flow), then
 * `verified` or back to `requires_input` with `last_error` (`decide`); it can be canceled only
 * from requires_input. Every change posts an `identity.verification_session.*` event signed with
 * `Stripe-Signature: t=…,v1=…` (HMAC-SHA256 of `t.body` under the endpoint secret).
 */
export async function startFakeStripe(options: FakeStripeOptions) {
  const now = options.now ?? Date.now;
  const seconds = () => Math.floor(now() / 1000);
  const sessions = new Map<string, StripeSession>();
  const files = new Map<string, StripeFile & { content: Buffer }>();
  const idempotency = new Map<string, { fingerprint: string; reply: FakeReply }>();
  const events: StripeEvent[] = [];
  const autoScheduled = new Set<string>();
  const timers = new FakeTimers();
  const webhooks = new WebhookSender((body) => {
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac("sha256", options.webhookSecret).update(`${t}.${body}`).digest("hex");
    // Test-mode deliveries carry a v0 too; only v1 is the scheme to verify.
    return { "stripe-signature": `t=${t},v1=${v1},v0=${randomBytes(32).toString("hex")}` };
  }, options);

  function emit(session: StripeSession, type: string): void {
    const event: StripeEvent = { id: id("evt"), object: "event", api_version: API_VERSION, created: seconds(), data: { object: structuredClone(session) }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: `identity.verification_session.${type}` };
    events.push(event);
    webhooks.emit(event.type, JSON.stringify(event));
  }

  function sessionIn(sessionId: string, status: StripeSession["status"]): StripeSession {
    const session = sessions.get(sessionId);
    if (!session) throw new Error(`fake Stripe: no verification session ${sessionId}`);
    if (session.status !== status) throw new Error(`fake Stripe: session ${sessionId} is ${session.status}, not ${status}`);
    return session;
  }

  /** The user completes the hosted flow: requires_input → processing. */
  function submitSession(sessionId: string): StripeSession {
    const session = sessionIn(sessionId, "requires_input");
    Object.assign(session, { status: "processing", last_error: null, url: null, client_secret: null });
    emit(session, "processing");
    return session;
  }

  /** Stripe's decision on a processing session. */
  function decide(sessionId: string, decision: StripeDecision): StripeSession {
    const session = sessionIn(sessionId, "processing");
    session.last_verification_report = id("vr");
    if (decision === "verified") session.status = "verified";
    else Object.assign(session, { status: "requires_input", last_error: { code: decision.code, reason: decision.reason ?? null }, url: `https://verify.stripe.com/start/test_${randomBytes(16).toString("hex")}`, client_secret: `${session.id}_secret_${randomBytes(12).toString("hex")}` });
    emit(session, decision === "verified" ? "verified" : "requires_input");
    return session;
  }

  function createSession(form: Form): FakeReply {
    const unknown = unknownParameter(form, CREATE_PARAMS);
    if (unknown) return stripeError(400, "invalid_request_error", `Received unknown parameter: ${unknown}`, { code: "parameter_unknown", param: unknown });
    const type = form.type ?? "document";
    if (type !== "document" && type !== "id_number") return stripeError(400, "invalid_request_error", `Invalid type: must be one of document or id_number`, { code: "parameter_invalid_empty", param: "type" });
    const document = typeof form.options === "object" && typeof form.options.document === "object" ? form.options.document : undefined;
    const selfie = document?.require_matching_selfie;
    if (selfie !== undefined && selfie !== "true" && selfie !== "false") return stripeError(400, "invalid_request_error", `Invalid boolean: ${String(selfie)}`, { param: "options[document][require_matching_selfie]" });
    const sessionId = id("vs");
    const session: StripeSession = {
      id: sessionId,
      object: "identity.verification_session",
      client_reference_id: typeof form.client_reference_id === "string" ? form.client_reference_id : null,
      client_secret: `${sessionId}_secret_${randomBytes(12).toString("hex")}`,
      created: seconds(),
      last_error: null,
      last_verification_report: null,
      livemode: false,
      metadata: typeof form.metadata === "object" ? (form.metadata as Record<string, string>) : {},
      options: { document: document ? { ...document, ...(selfie === undefined ? {} : { require_matching_selfie: selfie === "true" }) } : {} },
      provided_details: null,
      redaction: null,
      related_customer: null,
      ...(typeof form.return_url === "string" ? { return_url: form.return_url } : {}),
      status: "requires_input",
      type,
      url: `https://verify.stripe.com/start/test_${randomBytes(16).toString("hex")}`,
      verified_outputs: null,
    };
    sessions.set(sessionId, session);
    emit(session, "created");
    return { status: 200, body: session };
  }

  function retrieve(session: StripeSession): FakeReply {
    const auto = options.autoDecide;
    if (auto && session.status === "requires_input" && !autoScheduled.has(session.id)) {
      autoScheduled.add(session.id);
      submitSession(session.id);
      // Unless a test decided it first.
      timers.after(auto.afterMs, () => session.status === "processing" && decide(session.id, auto.decide({ session })));
    }
    return { status: 200, body: session };
  }

  async function upload(request: FakeRequest): Promise<FakeReply> {
    const form = await readMultipart(request);
    if (!form) return stripeError(400, "invalid_request_error", "File uploads must be multipart/form-data");
    const purpose = form.fields.purpose;
    if (!purpose) return stripeError(400, "invalid_request_error", "Missing required param: purpose.", { code: "parameter_missing", param: "purpose" });
    const file = form.files.file;
    if (!file || file.content.length === 0) return stripeError(400, "invalid_request_error", "Missing required param: file.", { code: "parameter_missing", param: "file" });
    const type = FILE_TYPES[file.type];
    if (purpose === "identity_document" && !type) return stripeError(400, "invalid_request_error", "identity_document files must be JPEG, PNG or PDF", { param: "file" });
    const stored = { id: id("file"), object: "file" as const, created: seconds(), expires_at: null, filename: file.name, purpose, size: file.content.length, title: null, type: type ?? "unknown", url: null, content: file.content };
    files.set(stored.id, stored);
    const { content: _content, ...answer } = stored;
    return { status: 200, body: answer };
  }

  /** Create under an Idempotency-Key: the same request again gets the first answer; other parameters under the same key are refused. */
  function idempotent(request: FakeRequest, run: () => FakeReply): FakeReply {
    const key = request.headers["idempotency-key"];
    if (typeof key !== "string") return run();
    const fingerprint = createHash("sha256").update(`${request.method} ${request.path}\n`).update(request.body).digest("hex");
    const seen = idempotency.get(key);
    if (seen && seen.fingerprint !== fingerprint)
      return stripeError(400, "idempotency_error", `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
    if (seen) return { ...seen.reply, headers: { "idempotent-replayed": "true" } };
    const reply = run();
    if (reply.status < 500) idempotency.set(key, { fingerprint, reply: structuredClone(reply) });
    return reply;
  }

  async function handle(request: FakeRequest): Promise<FakeReply> {
    const auth = request.headers.authorization;
    if (!auth?.startsWith("Bearer "))
      return stripeError(401, "invalid_request_error", "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
    const key = auth.slice("Bearer ".length);
    if (key !== options.secretKey) return stripeError(401, "invalid_request_error", `Invalid API Key provided: ${key.slice(0, 8)}****${key.slice(-4)}`, { code: "api_key_invalid" });
    const route = `${request.method} ${request.path}`;
    if (route === "POST /v1/files") return upload(request);
    if (request.method === "POST" && !(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded"))
      return stripeError(400, "invalid_request_error", "Invalid request (check that your POST content type is application/x-www-form-urlencoded). If you have any questions, we can help at https://support.stripe.com/.");
    if (route === "POST /v1/identity/verification_sessions") return idempotent(request, () => createSession(parseForm(request.body.toString("utf8"))));
    const match = /^\/v1\/identity\/verification_sessions\/([^/]+)(\/cancel)?$/.exec(request.path);
    const session = match ? sessions.get(decodeURIComponent(match[1] as string)) : undefined;
    if (match && !session) return stripeError(404, "invalid_request_error", `No such verification session: '${decodeURIComponent(match[1] as string)}'`, { code: "resource_missing", param: "session" });
    if (session && !match?.[2] && request.method === "GET") return retrieve(session);
    if (session && match?.[2] && request.method === "POST") {
      if (session.status !== "requires_input")
        return stripeError(400, "invalid_request_error", `This VerificationSession cannot be canceled because it has a status of ${session.status}. Only sessions with a status of requires_input can be canceled.`, { code: "verification_session_unexpected_status" });
      Object.assign(session, { status: "canceled", url: null, client_secret: null });
      emit(session, "canceled");
      return { status: 200, body: session };
    }
    return stripeError(404, "invalid_request_error", `Unrecognized request URL (${request.method}: ${request.path}).`);
  }

  const server = await startProviderFake({
    handle,
    webhooks,
    timers,
    errorBody: (status: FailureStatus) =>
      status === 429
        ? { error: { type: "invalid_request_error", code: "rate_limit", message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits." } }
        : { error: { type: "api_error", message: "An unknown error occurred" } },
  });

  return {
    ...server,
    state: { sessions, files, events, idempotency },
    submitSession,
    decide,
  };
}

export type FakeStripe = Awaited<ReturnType<typeof startFakeStripe>>;
