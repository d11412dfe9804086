import type { Registry } from "prom-client";
import type { Context } from "../../graphql/context";
import { TransportUnavailableError } from "../../platform/events/outbox";
import { announce } from "../../platform/pubsub/pubsub";
import type { PubSub } from "../../platform/pubsub/pubsub";
import type { AuthzApi } from "../authz";
import type { Kernel, Module } from "../module";
import type { UsersApi } from "../users";
import { DocumentVault } from "./documents/document-vault";
import { LocalDocumentStorage } from "./documents/local-storage";
import { S3DocumentStorage } from "./documents/s3-storage";
import type { DocumentStorage } from "./documents/storage";
import { KycMetrics } from "./kyc.metrics";
import type { KycProviderName } from "./kyc.model";
import { kycPersonalData } from "./kyc.personal-data";
import { KycResolver, UserKycResolver, kycTopic } from "./kyc.resolver";
import { KycService } from "./kyc.service";
import { WEBHOOK_JOB, processDelivery, webhookRoutes } from "./kyc.webhooks";
import { OnfidoProvider } from "./providers/onfido";
import type { KycProvider } from "./providers/provider";
import { ResilientProviders } from "./providers/resilient";
import { SandboxProvider } from "./providers/sandbox";
import { StripeIdentityProvider } from "./providers/stripe-identity";
import { SumsubProvider } from "./providers/sumsub";

export interface KycDeps {
  authz: Pick<AuthzApi, "decide" | "useKycStatus" | "accountChanged">;
  users: Pick<UsersApi, "personalData">;
  pubSub: PubSub;
  /** Where the module's metrics are registered (the app's registry). */
  registry: Registry;
}

export interface KycApi {
  /** Each user's best decided status (NONE, APPROVED, REJECTED), in order. */
  kycStatusOf(userIds: readonly string[]): Promise<string[]>;
  /** The escalation sweep (a job runs it; tests may call it). */
  escalateOverdue(): Promise<number>;
}

/** The providers this deployment has credentials for (the sandbox unless refused in production). */
function configuredProviders(kernel: Pick<Kernel, "prisma" | "clock" | "config">): KycProvider[] {
  const { config } = kernel;
  const providers: KycProvider[] = [];
  if (!config.production || config.KYC_SANDBOX_IN_PRODUCTION) providers.push(new SandboxProvider(kernel.prisma, kernel.clock, config.KYC_SANDBOX_DELAY_MS));
  if (config.SUMSUB_APP_TOKEN && config.SUMSUB_SECRET_KEY) {
    providers.push(new SumsubProvider({ baseUrl: config.SUMSUB_BASE_URL, appToken: config.SUMSUB_APP_TOKEN, secretKey: config.SUMSUB_SECRET_KEY, webhookSecret: config.SUMSUB_WEBHOOK_SECRET, levelNames: { BASIC: config.SUMSUB_LEVEL_BASIC, ENHANCED: config.SUMSUB_LEVEL_ENHANCED } }));
  }
  if (config.ONFIDO_API_TOKEN) providers.push(new OnfidoProvider({ baseUrl: config.ONFIDO_BASE_URL, apiToken: config.ONFIDO_API_TOKEN, webhookToken: config.ONFIDO_WEBHOOK_TOKEN }));
  if (config.STRIPE_SECRET_KEY) providers.push(new StripeIdentityProvider({ apiBaseUrl: config.STRIPE_API_BASE_URL, secretKey: config.STRIPE_SECRET_KEY, webhookSecret: config.STRIPE_WEBHOOK_SECRET }));
  const unsigned = [
    ["SUMSUB_WEBHOOK_SECRET", config.SUMSUB_APP_TOKEN && !config.SUMSUB_WEBHOOK_SECRET],
    ["ONFIDO_WEBHOOK_TOKEN", config.ONFIDO_API_TOKEN && !config.ONFIDO_WEBHOOK_TOKEN],
    ["STRIPE_WEBHOOK_SECRET", config.STRIPE_SECRET_KEY && !config.STRIPE_WEBHOOK_SECRET],
  ].find(([, missing]) => missing);
  // A webhook checked against an empty key would accept anyone's signature.
  if (unsigned) throw new Error(`${unsigned[0]} is required when that provider's credentials are set`);
  const names = new Set(providers.map((p) => p.name));
  for (const wanted of [config.KYC_PROVIDER, ...config.KYC_FALLBACK_PROVIDERS]) {
    if (wanted && !names.has(wanted)) throw new Error(`KYC_PROVIDER / KYC_FALLBACK_PROVIDERS name ${wanted}, whose credentials are not configured`);
  }
  return providers;
}

function documentStorage(config: Kernel["config"]): DocumentStorage {
  if (config.DOCUMENT_STORAGE === "local") return new LocalDocumentStorage(config.DOCUMENT_STORAGE_DIR);
  return new S3DocumentStorage({ bucket: config.S3_BUCKET, region: config.S3_REGION, ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}), forcePathStyle: config.S3_FORCE_PATH_STYLE });
}

/** Identity verification over pluggable providers, documents, webhooks, compliance review and live status. */
export function kycModule(kernel: Kernel, deps: KycDeps): Module<KycApi> {
  const { config, jobs } = kernel;
  const providers = configuredProviders(kernel);
  const resilient = new ResilientProviders({
    providers,
    policy: { timeoutMs: config.KYC_PROVIDER_TIMEOUT_MS, maxAttempts: config.KYC_PROVIDER_MAX_ATTEMPTS, initialDelayMs: 200, maxDelayMs: 30_000, breakerThreshold: config.KYC_BREAKER_THRESHOLD, halfOpenAfterMs: config.KYC_BREAKER_HALF_OPEN_S * 1000 },
    metrics: new KycMetrics(deps.registry),
  });
  const service = new KycService({
    ...kernel,
    documents: new DocumentVault(kernel.prisma, kernel.vault, documentStorage(config)),
    providers: resilient,
    available: new Set<KycProviderName>(providers.map((p) => p.name)),
    scheduler: {
      poll: (verificationId, attempt, round, delayMs) => jobs.enqueue("kyc.poll", { verificationId, attempt, round }, { jobId: `poll-${verificationId}-${attempt}-${round}`, delayMs }),
    },
    // After the commit, best effort as pub/sub is: the change reaches every instance's subscribers,
    // and a decision every instance's cache of principal.kycStatus.
    changed: (update) => {
      announce(deps.pubSub, kycTopic(update.userId), update, kernel.logger, "a KYC status change");
      if (update.status === "APPROVED" || update.status === "REJECTED") deps.authz.accountChanged(update.userId);
    },
  });
  jobs.define("kyc.check", (data) => service.sendToProvider(String(data.verificationId), Number(data.attempt)), {
    onGiveUp: (data, error) => service.giveUpSending(String(data.verificationId), Number(data.attempt), error),
  });
  jobs.define("kyc.poll", (data) => service.poll(String(data.verificationId), Number(data.attempt), Number(data.round)));
  jobs.define(WEBHOOK_JOB, (data) => processDelivery(kernel.prisma, service)({ provider: String(data.provider), deliveryId: String(data.deliveryId) }));
  jobs.define("kyc.escalate", async () => void (await service.escalateOverdue()));
  jobs.every("kyc.escalate", Math.min(60_000, config.KYC_REVIEW_TIMEOUT_S * 500));
  // A committed submission asks the provider (a job queued by the outbox relay, so it is never lost).
  kernel.handlers.on("kyc.submitted", "kyc-check", async (event) => {
    try {
      await jobs.enqueue("kyc.check", { verificationId: event.data.verificationId, attempt: event.data.attempt }, { jobId: `check-${event.data.verificationId}-${event.data.attempt}` });
    } catch (error) {
      // The queue (Redis) is unreachable, not this event at fault: the relay retries it later, counting nothing toward parking.
      throw new TransportUnavailableError(`KYC check queue: ${(error as Error).message}`);
    }
  });
  deps.authz.useKycStatus(async (userId) => (await service.kycStatusOf([userId]))[0] ?? "NONE");
  deps.users.personalData.register(kycPersonalData(kernel.prisma, service));
  const reviewer = async (context: Context) => Boolean(context.viewer) && (await deps.authz.decide({ userId: context.viewer?.userId as string }, "kyc:review")).allowed;
  return {
    name: "kyc",
    api: { kycStatusOf: (ids) => service.kycStatusOf(ids), escalateOverdue: () => service.escalateOverdue() },
    resolvers: [new KycResolver(service), new UserKycResolver(service, reviewer)],
    routes: webhookRoutes(providers, { prisma: kernel.prisma, jobs, clock: kernel.clock, logger: kernel.logger }),
  };
}
