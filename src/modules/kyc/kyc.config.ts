import path from "node:path";
import { Invalid, bool, httpUrl, int, isProduction, oneOf, spec, type ConfigPart, type Env, type VarSpec } from "../../shared/config-spec";
import { KYC_PROVIDERS, type KycProviderName } from "./kyc.model";

const text = (description: string, def = ""): VarSpec<string> => spec(description, def, (raw) => (raw === undefined || raw === "" ? def : raw.trim()));


/** Provider names; SANDBOX is refused in production unless KYC_SANDBOX_IN_PRODUCTION=true. */
function providers(raw: string | undefined, env: Env): KycProviderName[] {
  const names = (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const name of names) if (!(KYC_PROVIDERS as readonly string[]).includes(name)) throw new Invalid(`expected names among ${KYC_PROVIDERS.join(", ")}`);
  if (new Set(names).size !== names.length) throw new Invalid("a provider is listed twice");
  if (names.includes("SANDBOX") && isProduction(env) && env.KYC_SANDBOX_IN_PRODUCTION !== "true") throw new Invalid("the SANDBOX provider is refused in production unless KYC_SANDBOX_IN_PRODUCTION=true");
  return names as KycProviderName[];
}

/** The KYC module's variables: providers (with their credentials), fallback, timing, documents. */
export const kycConfig = {
  KYC_PROVIDER: spec("The KYC provider a verification starts with when the request names none (default SANDBOX; in production no default: set it)", "SANDBOX", (raw, env): KycProviderName | null => {
    if (raw === undefined || raw === "") return isProduction(env) ? null : "SANDBOX";
    const [name] = providers(raw, env);
    return name ?? null;
  }),
  KYC_FALLBACK_PROVIDERS: spec("Providers tried in this order when a verification's provider is unavailable or its circuit is open (comma-separated)", "", providers),
  KYC_SANDBOX_DELAY_MS: int("How long the SANDBOX provider takes to decide", 1000, 0, 600_000),
  KYC_SANDBOX_IN_PRODUCTION: bool("Allow the SANDBOX provider in production (it approves everything without the marker)", "false", () => false),
  KYC_REVIEW_TIMEOUT_S: int("A verification IN_REVIEW longer than this is escalated to manual review (a compliance notification)", 86_400, 10, 30 * 86_400),
  KYC_POLL_INTERVAL_S: int("How often a provider is asked about a verification it has not decided (webhooks usually come first)", 300, 1, 86_400),
  KYC_COMPLIANCE_EMAIL: text("Where escalations to manual review are sent (the kyc-review-escalated notification)", "compliance@localhost"),
  KYC_PROVIDER_TIMEOUT_MS: int("Timeout of one call to a KYC provider", 8000, 100, 120_000),
  KYC_PROVIDER_MAX_ATTEMPTS: int("Attempts of a provider call that failed transiently (timeouts, 429, 5xx), with jittered backoff", 3, 1, 10),
  KYC_BREAKER_THRESHOLD: int("Consecutive transient failures that open a provider's circuit", 5, 1, 1000),
  KYC_BREAKER_HALF_OPEN_S: int("How long an open circuit stays open before one call is let through", 15, 1, 3600),
  SUMSUB_BASE_URL: httpUrl("Sumsub API", "https://api.sumsub.com"),
  SUMSUB_APP_TOKEN: text("Sumsub app token (X-App-Token); Sumsub is available when this and the secret key are set"),
  SUMSUB_SECRET_KEY: text("Sumsub secret key (signs requests, X-App-Access-Sig)"),
  SUMSUB_WEBHOOK_SECRET: text("Sumsub webhook secret (X-Payload-Digest)"),
  SUMSUB_LEVEL_BASIC: text("Sumsub level name of the BASIC level", "basic-kyc-level"),
  SUMSUB_LEVEL_ENHANCED: text("Sumsub level name of the ENHANCED level", "enhanced-kyc-level"),
  ONFIDO_BASE_URL: httpUrl("Onfido API v3.6 (region: api.eu, api.us or api.ca)", "https://api.eu.onfido.com/v3.6"),
  ONFIDO_API_TOKEN: text("Onfido API token (Authorization: Token token=…); Onfido is available when set"),
  ONFIDO_WEBHOOK_TOKEN: text("Onfido webhook token (X-SHA2-Signature)"),
  STRIPE_API_BASE_URL: httpUrl("Stripe API", "https://api.stripe.com"),
  STRIPE_SECRET_KEY: text("Stripe secret key (sk_…); Stripe Identity is available when set"),
  STRIPE_WEBHOOK_SECRET: text("Stripe webhook signing secret (whsec_…)"),
  DOCUMENT_STORAGE: oneOf("Where documents are stored (sealed): local (under DOCUMENT_STORAGE_DIR) or s3", ["local", "s3"] as const, "local"),
  DOCUMENT_STORAGE_DIR: spec("The local document storage's directory", ".data/documents", (raw) => path.resolve(raw || ".data/documents")),
  S3_BUCKET: text("S3 bucket of the documents (DOCUMENT_STORAGE=s3)", "identity-documents"),
  S3_REGION: text("S3 region", "us-east-1"),
  S3_ENDPOINT: text("S3-compatible endpoint (MinIO, R2, ...); empty for AWS"),
  S3_FORCE_PATH_STYLE: bool("Path-style S3 URLs (MinIO and most S3-compatible stores need them)", "false", () => false),
} satisfies ConfigPart;
