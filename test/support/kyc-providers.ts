import { createHmac } from "node:crypto";
import { print } from "graphql";
import { Redis } from "ioredis";
import type { KycProviderName } from "../../src/modules/kyc/kyc.model";
import { kycTopic } from "../../src/modules/kyc/kyc.resolver";
import { WEBHOOK_PATHS } from "../../src/modules/kyc/kyc.webhooks";
import { OnfidoProvider } from "../../src/modules/kyc/providers/onfido";
import type { KycProvider } from "../../src/modules/kyc/providers/provider";
import { STRIPE_WEBHOOK_TOLERANCE_SECONDS, StripeIdentityProvider } from "../../src/modules/kyc/providers/stripe-identity";
import { SumsubProvider } from "../../src/modules/kyc/providers/sumsub";
import { pubSubPrefix } from "../../src/platform/pubsub/pubsub";
import { bytesOfSize } from "./documents";
import { REDIS_URL } from "./env";
import type { Delivery, FakeRequest, FakeServer, WebhookSender } from "./fakes/fake-server";
import { startFakeOnfido, type FakeOnfido } from "./fakes/onfido";
import { startFakeStripe, type FakeStripe } from "./fakes/stripe";
import { startFakeSumsub, type FakeSumsub } from "./fakes/sumsub";
import {
  MyVerificationDocument,
  StartVerificationDocument,
  SubmitVerificationDocument,
  UploadVerificationDocumentDocument,
  VerificationStatusChangedDocument,
  type DocumentType,
  type MyVerificationQuery,
} from "./generated/operations";
import type { Harness, SignedIn } from "./harness";
import { waitUntil } from "./wait";
import { runOperation, watch, wsClient, type Watch } from "./ws";

/**
 * The app end to end against the provider fakes: the fakes (started before the app, whose env
 * needs their URLs), what each provider's part of the flow looks like at its fake, and a user's
 * side of the flow over HTTP and graphql-ws.
 */

const SUMSUB = { appToken: "sbx:e2e-app-token", secretKey: "e2e-sumsub-secret-key", webhookSecret: "e2e-sumsub-webhook-secret" };
const ONFIDO = { token: "api_sandbox.e2e-onfido-token", webhookToken: "e2e-onfido-webhook-token" };
const STRIPE = { secretKey: "sk_test_e2e51identity", webhookSecret: "whsec_e2e7c1d2e3f" };
const SUMSUB_LEVEL_BASIC = "e2e-basic-level";

export interface UploadInput {
  type: DocumentType;
  fileName: string;
  contentType: string;
  content: Buffer;
}

/** A passport and a selfie as large as Onfido requires (documents from 2 KB, live photos from 32 KB); every provider takes them. */
export const passport: UploadInput = { type: "PASSPORT", fileName: "passport.png", contentType: "image/png", content: bytesOfSize("image/png", 4096) };
export const selfie: UploadInput = { type: "SELFIE", fileName: "selfie.jpg", contentType: "image/jpeg", content: bytesOfSize("image/jpeg", 40_000) };

export interface Fakes {
  sumsub: FakeSumsub;
  onfido: FakeOnfido;
  stripe: FakeStripe;
}

/**
 * Starts the three fakes in a beforeAll and closes them in an afterAll: call it before `useApp`,
 * give `env` to useApp (it reads the fakes' URLs as the app starts), and once the app listens
 * `webhooksTo(h.t.baseUrl)` points each fake's webhooks at the app.
 */
export function useProviderFakes() {
  const fakes = {} as Fakes;
  let stripeTime: number | null = null;
  beforeAll(async () => {
    [fakes.sumsub, fakes.onfido, fakes.stripe] = await Promise.all([startFakeSumsub(SUMSUB), startFakeOnfido(ONFIDO), startFakeStripe({ ...STRIPE, now: () => stripeTime ?? Date.now() })]);
  });
  afterAll(() => Promise.all([fakes.sumsub?.close(), fakes.onfido?.close(), fakes.stripe?.close()]));
  return {
    fakes,
    env: (): Record<string, string> => ({
      SUMSUB_BASE_URL: fakes.sumsub.url,
      SUMSUB_APP_TOKEN: SUMSUB.appToken,
      SUMSUB_SECRET_KEY: SUMSUB.secretKey,
      SUMSUB_WEBHOOK_SECRET: SUMSUB.webhookSecret,
      SUMSUB_LEVEL_BASIC,
      ONFIDO_BASE_URL: fakes.onfido.url,
      ONFIDO_API_TOKEN: ONFIDO.token,
      ONFIDO_WEBHOOK_TOKEN: ONFIDO.webhookToken,
      STRIPE_API_BASE_URL: fakes.stripe.url,
      STRIPE_SECRET_KEY: STRIPE.secretKey,
      STRIPE_WEBHOOK_SECRET: STRIPE.webhookSecret,
    }),
    /** Stops the fake Stripe's clock at `ms` (what its events' `created` says); null lets it run again. */
    stopStripeClockAt(ms: number | null): void {
      stripeTime = ms;
    },
    webhooksTo(baseUrl: string): void {
      fakes.sumsub.setWebhookUrl(`${baseUrl}${WEBHOOK_PATHS.SUMSUB}`);
      fakes.onfido.setWebhookUrl(`${baseUrl}${WEBHOOK_PATHS.ONFIDO}`);
      fakes.stripe.setWebhookUrl(`${baseUrl}${WEBHOOK_PATHS.STRIPE_IDENTITY}`);
    },
  };
}

/** Sumsub's idDocType of each of our document types (the adapter's mapping, as Sumsub shows it). */
const SUMSUB_DOC_TYPES: Record<DocumentType, string> = { PASSPORT: "PASSPORT", ID_CARD: "ID_CARD", DRIVERS_LICENSE: "DRIVERS", SELFIE: "SELFIE", PROOF_OF_ADDRESS: "UTILITY_BILL" };

const hmac = (secret: string, message: string) => createHmac("sha256", secret).update(message).digest("hex");

/** One provider's part of the flow, as its fake sees it. */
export interface ProviderCase {
  name: Exclude<KycProviderName, "SANDBOX">;
  /** The app's webhook route of this provider. */
  path: string;
  fake: FakeServer & { webhooks: WebhookSender };
  /** The real adapter (for what it reads of a delivery: its id). */
  adapter: KycProvider;
  /** The request that creates the applicant (or session). */
  isCreate(request: FakeRequest): boolean;
  /** A request that reads the status of `handle` (what getStatus sends). */
  isStatusRead(handle: string): (request: FakeRequest) => boolean;
  /**
   * Waits until the job has done its part at the fake for submission `attempt` (the first unless
   * told) of verification `id`: the applicant (or session) with the attempt's reference
   * (`<id>-<attempt>`) as its external reference, `documents` received, the check requested, and
   * the app's row naming them; answers the provider's id that decisions name (Sumsub's applicant,
   * Onfido's check, Stripe's session).
   */
  reached(verification: { id: string; email: string }, documents: UploadInput[], attempt?: number): Promise<string>;
  /** The provider approves (Stripe: the user finishes the hosted flow, then Stripe verifies). */
  approve(handle: string): void;
  /** The webhook events of a check under way and of the decision. */
  events: { inReview: string; decision: string };
  /** Whether the decision webhook lacks the verdict (Onfido's: the app asks getStatus). */
  decisionNeedsStatusRead: boolean;
  /** The signature headers of `body` under `secret`, as the provider signs (Stripe: at `atSeconds`, now unless told). */
  sign(body: string, secret: string, atSeconds?: number): Record<string, string>;
  secret: string;
  /** How old a signature's timestamp may be (Stripe's), or null when the provider signs none. */
  toleranceSeconds: number | null;
}

/** The app's row of verification `id`, once it names the provider's applicant (and check) as `expected`. */
async function rowNames(h: Harness, id: string, expected: { applicantId: string; checkId?: string }): Promise<void> {
  await waitUntil(`verification ${id} naming ${JSON.stringify(expected)}`, async () => {
    const row = await h.prisma.kycVerification.findUnique({ where: { id }, include: { documents: true } });
    return row?.applicantId === expected.applicantId && (expected.checkId === undefined || row.checkId === expected.checkId) && row.documents.every((d) => d.status === "SUBMITTED");
  });
}

export function providerCases(h: Harness, { sumsub, onfido, stripe }: Fakes): Record<ProviderCase["name"], ProviderCase> {
  return {
    SUMSUB: {
      name: "SUMSUB",
      path: WEBHOOK_PATHS.SUMSUB as string,
      fake: sumsub,
      adapter: new SumsubProvider({ baseUrl: sumsub.url, ...SUMSUB, levelNames: { BASIC: SUMSUB_LEVEL_BASIC, ENHANCED: "unused" } }),
      isCreate: (r) => r.method === "POST" && r.path === "/resources/applicants",
      isStatusRead: (applicantId) => (r) => r.method === "GET" && r.path === `/resources/applicants/${applicantId}/status`,
      async reached({ id, email }, documents, attempt = 1) {
        const reference = `${id}-${attempt}`;
        const applicant = await waitUntil(`the applicant ${reference} at Sumsub with ${documents.length} documents, its check requested`, async () =>
          [...sumsub.applicants.values()].find((a) => a.externalUserId === reference && a.documents.length === documents.length && a.reviewStatus === "pending"),
        );
        expect(applicant).toMatchObject({ levelName: SUMSUB_LEVEL_BASIC, email });
        expect(applicant.documents.map((d) => [d.idDocType, d.mime, d.content])).toEqual(documents.map((d) => [SUMSUB_DOC_TYPES[d.type], d.contentType, d.content]));
        await rowNames(h, id, { applicantId: applicant.id });
        return applicant.id;
      },
      approve: (applicantId) => sumsub.review(applicantId, { answer: "GREEN" }),
      events: { inReview: "applicantPending", decision: "applicantReviewed" },
      decisionNeedsStatusRead: false,
      sign: (body, secret) => ({ "x-payload-digest": hmac(secret, body), "x-payload-digest-alg": "HMAC_SHA256_HEX" }),
      secret: SUMSUB.webhookSecret,
      toleranceSeconds: null,
    },
    ONFIDO: {
      name: "ONFIDO",
      path: WEBHOOK_PATHS.ONFIDO as string,
      fake: onfido,
      adapter: new OnfidoProvider({ baseUrl: onfido.url, apiToken: ONFIDO.token, webhookToken: ONFIDO.webhookToken }),
      isCreate: (r) => r.method === "POST" && r.path === "/v3.6/applicants",
      isStatusRead: (checkId) => (r) => r.method === "GET" && r.path === `/v3.6/checks/${checkId}`,
      async reached({ id, email }, documents, attempt = 1) {
        // Onfido wants names we do not hold: "Applicant" and the attempt's reference.
        const reference = `${id}-${attempt}`;
        const applicant = await waitUntil(`the applicant ${reference} at Onfido`, async () => [...onfido.state.applicants.values()].find((a) => a.last_name === reference));
        expect(applicant).toMatchObject({ first_name: "Applicant", email });
        const check = await waitUntil(`the check of ${id} at Onfido`, async () => [...onfido.state.checks.values()].find((c) => c.applicant_id === applicant.id));
        expect(check.status).toBe("in_progress");
        const ofApplicant = (uploads: Map<string, { applicant_id: string; content: Buffer }>) => [...uploads.values()].filter((u) => u.applicant_id === applicant.id).map((u) => u.content);
        expect(ofApplicant(onfido.state.documents)).toEqual(documents.filter((d) => d.type !== "SELFIE").map((d) => d.content));
        expect(ofApplicant(onfido.state.livePhotos)).toEqual(documents.filter((d) => d.type === "SELFIE").map((d) => d.content));
        await rowNames(h, id, { applicantId: applicant.id, checkId: check.id });
        return check.id;
      },
      approve: (checkId) => void onfido.completeCheck(checkId, "clear"),
      events: { inReview: "check.started", decision: "check.completed" },
      decisionNeedsStatusRead: true,
      sign: (body, secret) => ({ "x-sha2-signature": hmac(secret, body) }),
      secret: ONFIDO.webhookToken,
      toleranceSeconds: null,
    },
    STRIPE_IDENTITY: {
      name: "STRIPE_IDENTITY",
      path: WEBHOOK_PATHS.STRIPE_IDENTITY as string,
      fake: stripe,
      adapter: new StripeIdentityProvider({ apiBaseUrl: stripe.url, ...STRIPE }),
      isCreate: (r) => r.method === "POST" && r.path === "/v1/identity/verification_sessions",
      isStatusRead: (sessionId) => (r) => r.method === "GET" && r.path === `/v1/identity/verification_sessions/${sessionId}`,
      async reached({ id }, _documents, attempt = 1) {
        const reference = `${id}-${attempt}`;
        const session = await waitUntil(`the verification session ${reference} at Stripe`, async () => [...stripe.state.sessions.values()].find((s) => s.client_reference_id === reference));
        expect(session).toMatchObject({ metadata: { verification_id: id, reference }, status: "requires_input", type: "document" });
        await waitUntil(`requestCheck's read of ${session.id}`, async () => stripe.requests.some((r) => r.method === "GET" && r.path === `/v1/identity/verification_sessions/${session.id}`));
        // Stripe reads no document of ours (the user shows them in the hosted flow): none is sent.
        expect(stripe.requests.filter((r) => r.path === "/v1/files")).toEqual([]);
        await rowNames(h, id, { applicantId: session.id });
        return session.id;
      },
      approve: (sessionId) => {
        stripe.submitSession(sessionId);
        stripe.decide(sessionId, "verified");
      },
      events: { inReview: "identity.verification_session.processing", decision: "identity.verification_session.verified" },
      decisionNeedsStatusRead: false,
      sign: (body, secret, atSeconds = Math.floor(Date.now() / 1000)) => ({ "stripe-signature": `t=${atSeconds},v1=${hmac(secret, `${atSeconds}.${body}`)}` }),
      secret: STRIPE.webhookSecret,
      toleranceSeconds: STRIPE_WEBHOOK_TOLERANCE_SECONDS,
    },
  };
}

/**
 * Runs `work` with the webhooks' URL unset, so what the fake emits meanwhile is signed and kept
 * (in `deliveries`) but not posted; answers those deliveries, for the test to post as it means to.
 */
export async function withheld(webhooks: WebhookSender, work: () => Promise<void> | void): Promise<Delivery[]> {
  // Deliveries already on their way go first: the URL is read as each one is posted.
  await webhooks.idle();
  const url = webhooks.url;
  const from = webhooks.deliveries.length;
  webhooks.url = undefined;
  try {
    await work();
    await webhooks.idle();
  } finally {
    webhooks.url = url;
  }
  return webhooks.deliveries.slice(from);
}

export type MyVerification = NonNullable<MyVerificationQuery["myVerification"]>;

/** A user's side of the flow over HTTP and graphql-ws; the sockets it opens are closed after each test. */
export function kycUser(h: Harness) {
  const sockets: { dispose(): void | Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.dispose()));
  });
  return {
    /** `user`'s `verificationStatusChanged`, once the app has subscribed to the user's topic (so no change is missed). */
    async watching(user: SignedIn): Promise<Watch> {
      const c = wsClient(`${h.t.baseUrl.replace("http", "ws")}/graphql`, { authorization: `Bearer ${user.accessToken}` }, { lazy: false, onNonLazyError: () => undefined });
      sockets.push(c);
      expect((await runOperation(c, "{ me { id } }")).data).toMatchObject({ me: { id: user.user.id } });
      const changes = watch(c, print(VerificationStatusChangedDocument));
      const redis = new Redis(REDIS_URL);
      try {
        const channel = `${pubSubPrefix(h.t.redisPrefix)}${kycTopic(user.user.id)}`;
        await waitUntil(`the app subscribed to ${channel}`, async () => {
          const [, count] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
          return count > 0;
        });
      } finally {
        redis.disconnect();
      }
      return changes;
    },

    /** Starts a verification (with `provider`, or the app's default), uploads `documents`, submits it; answers its id. */
    async submitted(user: SignedIn, provider?: KycProviderName, documents: UploadInput[] = [passport, selfie]): Promise<string> {
      const started = await h.gql(StartVerificationDocument, { input: provider ? { provider } : {} }, user.headers);
      expect(started.errors).toBeUndefined();
      const id = started.data?.startVerification.id as string;
      await this.uploaded(user, id, documents);
      const submitted = await h.gql(SubmitVerificationDocument, { id }, user.headers);
      expect(submitted.data).toEqual({ submitVerification: { id, status: "IN_REVIEW" } });
      return id;
    },

    async uploaded(user: SignedIn, verificationId: string, documents: UploadInput[]): Promise<void> {
      for (const { content, ...document } of documents) {
        const uploaded = await h.gql(UploadVerificationDocumentDocument, { input: { verificationId, ...document, contentBase64: content.toString("base64") } }, user.headers);
        expect(uploaded.errors).toBeUndefined();
      }
    },

    async mine(user: SignedIn): Promise<MyVerification> {
      const mine = await h.gql(MyVerificationDocument, {}, user.headers);
      expect(mine.errors).toBeUndefined();
      return mine.data?.myVerification as MyVerification;
    },

    /** POSTs a webhook to the app as a provider would: these exact bytes and headers. */
    async post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
      const response = await fetch(`${h.t.baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
      return { status: response.status, body: await response.json() };
    },
  };
}

/** The statuses a watch received, in order. */
export const statusesOf = (changes: Watch) => changes.results.map((r) => (r.data as { verificationStatusChanged: { status: string } } | undefined)?.verificationStatusChanged.status ?? r.errors);
