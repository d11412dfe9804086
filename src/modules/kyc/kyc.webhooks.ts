import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { readBody } from "../../http/read-body";
import type { Clock } from "../../platform/clock";
import type { Prisma, Tx } from "../../platform/db/database";
import type { Jobs } from "../../platform/jobs/jobs";
import type { Logger } from "../../platform/logging/logger";
import type { Route } from "../module";
import type { KycProviderName } from "./kyc.model";
import type { KycService, NewsOutcome } from "./kyc.service";
import { WebhookSignatureError, type KycProvider, type ProviderVerdict, type WebhookNotice } from "./providers/provider";

/** A provider's webhook is a few kilobytes; Sumsub's and Stripe's largest are well under this. */
const WEBHOOK_LIMIT_BYTES = 256 * 1024;
export const WEBHOOK_JOB = "kyc.webhook";

/** Each provider's webhook path (register these with the provider: README). */
export const WEBHOOK_PATHS: Partial<Record<KycProviderName, string>> = {
  SUMSUB: "/webhooks/kyc/sumsub",
  ONFIDO: "/webhooks/kyc/onfido",
  STRIPE_IDENTITY: "/webhooks/kyc/stripe",
};

function answer(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" }).end(JSON.stringify(body));
}

/** The job id of a delivery (BullMQ ids cannot hold every character a provider's id may). */
const jobIdOf = (provider: KycProviderName, deliveryId: string) => `webhook-${provider}-${createHash("sha256").update(deliveryId).digest("hex").slice(0, 32)}`;

export interface WebhookDeps {
  prisma: Prisma;
  jobs: Jobs;
  clock: Clock;
  logger: Logger;
}

/**
 * The webhook routes: the signature is checked against the raw body (constant time, in the
 * adapter), the delivery recorded once (the same delivery twice is one row), and the work queued
 * as a job; the request only answers. A forged or stale delivery is 401 and changes nothing; a
 * delivery that cannot be recorded or queued is 503, so the provider delivers it again.
 */
export function webhookRoutes(providers: readonly KycProvider[], deps: WebhookDeps): Route[] {
  return providers.flatMap((provider) => {
    const path = WEBHOOK_PATHS[provider.name];
    if (!path) return [];
    return [
      {
        method: "POST" as const,
        path,
        handle: async (request, response, requestId) => {
          const body = await readBody(request, WEBHOOK_LIMIT_BYTES);
          if (!body) return answer(response.setHeader("connection", "close"), 413, { error: `a webhook body is at most ${WEBHOOK_LIMIT_BYTES} bytes` });
          let notice: WebhookNotice | null;
          try {
            notice = provider.parseWebhook(body, request.headers, deps.clock.now().getTime());
          } catch (error) {
            if (!(error instanceof WebhookSignatureError) && !(error instanceof SyntaxError)) throw error;
            deps.logger.warn({ provider: provider.name, reason: error.message, requestId }, "KYC webhook refused");
            return answer(response, error instanceof WebhookSignatureError ? 401 : 400, { error: error instanceof WebhookSignatureError ? "the signature does not match" : "the body is not what this provider sends" });
          }
          if (!notice) return answer(response, 200, { received: true, ignored: true });
          try {
            await deps.prisma.kycWebhookDelivery.createMany({
              data: [{ provider: provider.name, deliveryId: notice.deliveryId, notice: notice as never, occurredAt: new Date(notice.occurredAt) }],
              skipDuplicates: true,
            });
            const delivery = await deps.prisma.kycWebhookDelivery.findUniqueOrThrow({ where: { provider_deliveryId: { provider: provider.name, deliveryId: notice.deliveryId } }, select: { processedAt: true } });
            // Queued again while unprocessed (a lost job is recovered by the provider's retry); ignored once processed.
            if (!delivery.processedAt) await deps.jobs.enqueue(WEBHOOK_JOB, { provider: provider.name, deliveryId: notice.deliveryId }, { jobId: jobIdOf(provider.name, notice.deliveryId) });
            answer(response, 200, { received: true, duplicate: Boolean(delivery.processedAt) });
          } catch (error) {
            deps.logger.error({ err: error, provider: provider.name, requestId }, "KYC webhook could not be recorded; the provider will deliver it again");
            answer(response, 503, { error: "try again later" });
          }
        },
      },
    ];
  });
}

/** Another run of the same delivery recorded it first: this run's changes are rolled back. */
class AlreadyProcessed extends Error {}

/**
 * The webhook job: applies a recorded delivery once, and records what it did in the same unit of
 * work, so a run that fails after applying it has applied nothing, and two runs at once (a
 * redelivery while the first job runs) apply it once.
 */
export function processDelivery(prisma: Prisma, kyc: KycService) {
  return async (data: { provider: string; deliveryId: string }): Promise<void> => {
    const provider = data.provider as KycProviderName;
    const delivery = await prisma.kycWebhookDelivery.findUnique({ where: { provider_deliveryId: { provider, deliveryId: data.deliveryId } } });
    if (!delivery || delivery.processedAt) return;
    const notice = delivery.notice as unknown as WebhookNotice;
    const record = async (tx: Tx, outcome: NewsOutcome) => {
      const { count } = await tx.kycWebhookDelivery.updateMany({ where: { provider, deliveryId: data.deliveryId, processedAt: null }, data: { processedAt: new Date(), outcome } });
      if (count === 0) throw new AlreadyProcessed();
    };
    try {
      await kyc.webhookNews(provider, notice.ref, notice.verdict as ProviderVerdict | null, record);
    } catch (error) {
      if (!(error instanceof AlreadyProcessed)) throw error;
    }
  };
}
