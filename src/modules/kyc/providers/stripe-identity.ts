import type { IncomingHttpHeaders } from "node:http";
import { systemClock, type Clock } from "../../../platform/clock";
import { NEUTRAL_REASONS, WebhookSignatureError, type ApplicantRequest, type KycCall, type KycProvider, type ProviderDocument, type ProviderRef, type ProviderVerdict, type WebhookNotice } from "./provider";
import { hmacHex, parseWebhookBody, ProviderHttp, singleHeader, timingSafeEqualHex } from "../../../platform/http/provider-http";

export interface StripeIdentityOptions {
  /** `https://api.stripe.com`. */
  apiBaseUrl: string;
  /** `sk_live_…` / `sk_test_…` (or a restricted `rk_…` key allowed to write verification sessions). */
  secretKey: string;
  /** `whsec_…`, the endpoint's signing secret. */
  webhookSecret: string;
  /** Where the hosted flow sends the user when done. */
  returnUrl?: string;
  clock?: Clock;
}

/** Stripe's default webhook tolerance (stripe-node `Webhooks.DEFAULT_TOLERANCE`). */
export const STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300;

const SESSION_EVENTS = new Set(["processing", "verified", "requires_input", "canceled"].map((status) => `identity.verification_session.${status}`));

interface VerificationSession {
  id: string;
  status?: string;
  /** The hosted flow's page, while the session waits for the user (requires_input). */
  url?: string | null;
  last_error?: { code?: string | null; reason?: string | null } | null;
}

interface StripeEvent {
  id?: unknown;
  type?: unknown;
  created?: unknown;
  data?: { object?: VerificationSession };
}

type FormValue = string | number | boolean | FormFields | undefined;
interface FormFields {
  [key: string]: FormValue;
}

/** Stripe's form encoding: nested objects as bracketed keys (`options[document][require_matching_selfie]=true`); undefined is left out. */
export function formEncode(fields: FormFields): string {
  const params = new URLSearchParams();
  const add = (key: string, value: FormValue) => {
    if (typeof value === "object") for (const [name, inner] of Object.entries(value)) add(key === "" ? name : `${key}[${name}]`, inner);
    else if (value !== undefined) params.append(key, String(value));
  };
  add("", fields);
  return params.toString();
}

/**
 * Stripe Identity: a VerificationSession per submission attempt. The session is the applicant (no
 * check id), and the user proves who they are in Stripe's hosted flow (`url`, the verification's
 * providerUrl): Stripe reads the documents and the selfie there, never from an upload of ours.
 */
export class StripeIdentityProvider implements KycProvider {
  readonly name = "STRIPE_IDENTITY";
  /** The create carries an Idempotency-Key; the rest reads (or sends nothing). */
  readonly idempotent: ReadonlySet<KycCall> = new Set(["createApplicant", "uploadDocument", "requestCheck", "getStatus"]);
  private readonly http: ProviderHttp;
  private readonly apiBaseUrl: string;
  private readonly clock: Clock;

  constructor(private readonly options: StripeIdentityOptions) {
    // 409: a request under the same idempotency key is still in flight (stripe-node retries it too).
    this.http = new ProviderHttp("Stripe Identity", { alsoTransient: [409], redact: [options.secretKey] });
    this.apiBaseUrl = options.apiBaseUrl.replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The session of the attempt, named by its reference. The Idempotency-Key is the reference, so a
   * retried create (a timeout after Stripe made the session) answers the same session rather than
   * a second one; Stripe keeps keys 24 h. ENHANCED also matches a selfie against the document.
   * Answers the hosted flow's page, where the user goes next.
   */
  async createApplicant(request: ApplicantRequest, signal: AbortSignal): Promise<ProviderRef> {
    const body = formEncode({
      type: "document",
      client_reference_id: request.reference,
      metadata: { verification_id: request.verificationId, reference: request.reference },
      options: request.level === "ENHANCED" ? { document: { require_matching_selfie: true } } : undefined,
      return_url: this.options.returnUrl,
    });
    const session = await this.send<VerificationSession>("createApplicant", `${this.apiBaseUrl}/v1/identity/verification_sessions`, { body, headers: { "content-type": "application/x-www-form-urlencoded", "idempotency-key": `kyc-verification-session-${request.reference}` } }, signal);
    return { applicantId: session.id, checkId: null, url: session.url ?? null };
  }

  /**
   * Sends nothing: Stripe Identity reads no document through its API. The user shows the
   * documents and the selfie in the hosted flow (the session's `url`); a file sent to the Files
   * API would be stored on our Stripe account, linked to no session, and never read.
   */
  async uploadDocument(_ref: ProviderRef, _document: ProviderDocument, _signal: AbortSignal): Promise<void> {}

  /**
   * Stripe has no "submit" call: the review starts when the user completes the hosted flow. This
   * reads the session (it must exist and the key must reach it) and answers the ref unchanged.
   */
  async requestCheck(ref: ProviderRef, signal: AbortSignal): Promise<ProviderRef> {
    await this.session("requestCheck", ref.applicantId, signal);
    return ref;
  }

  /**
   * The session's status. A session carries only its creation time (`created`), so the verdict
   * is stamped with the time it was read: a creation time would make every read decision look
   * older than the webhooks before it.
   */
  async getStatus(ref: ProviderRef, signal: AbortSignal): Promise<ProviderVerdict> {
    return verdictOf(await this.session("getStatus", ref.applicantId, signal), this.clock.now().getTime());
  }

  /**
   * `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=…]`: each v1 is HMAC-SHA256 of `<t>.<raw body>`
   * under the endpoint secret (several while a secret rolls); one must match, and `t` must be
   * within the tolerance of `now`, so a captured delivery cannot be replayed later. The event id is
   * the delivery id: Stripe resends an event with the same id.
   */
  parseWebhook(rawBody: Buffer, headers: IncomingHttpHeaders, now: number): WebhookNotice | null {
    const { t, signatures } = parseSignatureHeader(singleHeader(headers, "stripe-signature"));
    // Signed as sent: `t` as written in the header, then the raw bytes.
    const expected = hmacHex("sha256", this.options.webhookSecret, `${t}.`, rawBody);
    // Every candidate is compared, so the time taken does not say which one matched.
    const matches = signatures.map((signature) => timingSafeEqualHex(signature, expected));
    if (!matches.includes(true)) throw new WebhookSignatureError("Stripe webhook: no v1 signature in Stripe-Signature matches the body");
    if (Math.abs(now / 1000 - Number(t)) > STRIPE_WEBHOOK_TOLERANCE_SECONDS) throw new WebhookSignatureError(`Stripe webhook timestamp is outside the ${STRIPE_WEBHOOK_TOLERANCE_SECONDS} s tolerance`);
    const event = parseWebhookBody<StripeEvent>("Stripe", rawBody);
    const session = event.data?.object;
    if (typeof event.type !== "string" || !SESSION_EVENTS.has(event.type) || typeof event.id !== "string" || typeof event.created !== "number" || typeof session?.id !== "string") return null;
    // `created` is in whole seconds: the event happened during that second, so it is stamped
    // with the second's last millisecond. Stamped with its first, a decision made in the same
    // second as news stamped to the millisecond (the submission, a poll's read) would read as
    // older than that news and be dropped until the next poll.
    const occurredAt = event.created * 1000 + 999;
    return { deliveryId: event.id, ref: { applicantId: session.id }, occurredAt, verdict: verdictOf(session, occurredAt) };
  }

  private session(call: string, id: string, signal: AbortSignal): Promise<VerificationSession> {
    return this.send<VerificationSession>(call, `${this.apiBaseUrl}/v1/identity/verification_sessions/${encodeURIComponent(id)}`, null, signal);
  }

  private send<T>(call: string, url: string, content: { body: string | FormData; headers: Record<string, string> } | null, signal: AbortSignal): Promise<T> {
    return this.http.json<T>(call, {
      method: content ? "POST" : "GET",
      url,
      headers: { authorization: `Bearer ${this.options.secretKey}`, ...content?.headers },
      body: content?.body,
      signal,
    });
  }
}

/**
 * A session in our statuses: `requires_input` is the user's turn, before the first attempt
 * (IN_REVIEW: waiting for them) or after a failed one, which `last_error` explains
 * (RESUBMISSION_REQUIRED, in neutral words: its code goes to the risk signals).
 */
function verdictOf(session: VerificationSession, occurredAt: number): ProviderVerdict {
  switch (session.status) {
    case "requires_input": {
      if (!session.last_error) return { status: "IN_REVIEW", reason: null, occurredAt, risk: null };
      const code = session.last_error.code ?? "requires_input";
      return { status: "RESUBMISSION_REQUIRED", reason: NEUTRAL_REASONS.RESUBMISSION_REQUIRED, occurredAt, risk: { score: null, labels: [code] } };
    }
    case "processing":
      return { status: "IN_REVIEW", reason: null, occurredAt, risk: null };
    case "verified":
      return { status: "APPROVED", reason: null, occurredAt, risk: null };
    // Canceled (by us or by the user leaving the flow for good) judged nobody: the documents are asked for again.
    case "canceled":
      return { status: "RESUBMISSION_REQUIRED", reason: "The verification was canceled: please submit your documents again", occurredAt, risk: null };
    default:
      throw new Error(`Stripe Identity verification session ${session.id} has an unknown status ${String(session.status)}`);
  }
}

function parseSignatureHeader(header: string | undefined): { t: string; signatures: string[] } {
  if (!header) throw new WebhookSignatureError("Stripe webhook without a Stripe-Signature header");
  const pairs = header.split(",").map((item) => {
    const cut = item.indexOf("=");
    return cut < 0 ? (["", ""] as const) : ([item.slice(0, cut).trim(), item.slice(cut + 1).trim()] as const);
  });
  const t = pairs.find(([key]) => key === "t")?.[1];
  const signatures = pairs.filter(([key]) => key === "v1").map(([, value]) => value);
  if (!t || !/^\d+$/.test(t) || signatures.length === 0) throw new WebhookSignatureError("Stripe webhook Stripe-Signature has no timestamp or no v1 signature");
  return { t, signatures };
}
