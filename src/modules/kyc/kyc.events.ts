import { z } from "zod";
import type { EventCatalogue } from "../../platform/events/catalogue";
import { DOCUMENT_TYPES, KYC_LEVELS, KYC_PROVIDERS, KYC_STATUSES } from "./kyc.model";

const level = z.enum(KYC_LEVELS);
const provider = z.enum(KYC_PROVIDERS);
const status = z.enum(KYC_STATUSES);
const verification = { verificationId: z.uuid(), level, provider };

/** Events of identity verification. None carries a document, a file name or the provider's raw payload. */
export const kycEvents = {
  "kyc.started": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user starts a verification at a level (it is PENDING, awaiting documents).",
    payload: z.object(verification).strict(),
  },
  "kyc.document_uploaded": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A document is uploaded to a verification (its type and what its bytes are; never its content or name).",
    payload: z.object({ ...verification, documentId: z.uuid(), type: z.enum(DOCUMENT_TYPES), mime: z.enum(["image/jpeg", "image/png", "application/pdf"]), sizeBytes: z.number().int() }).strict(),
  },
  "kyc.submitted": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user submits a verification for review (IN_REVIEW); the provider is asked in the background.",
    payload: z.object({ ...verification, attempt: z.number().int(), documents: z.number().int() }).strict(),
  },
  "kyc.status_changed": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A verification's status changes (submission, a provider's decision, a compliance review); feeds verificationStatusChanged.",
    payload: z
      .object({
        ...verification,
        from: status,
        to: status,
        reason: z.string().nullable(),
        decidedBy: z.enum(["user", "provider", "reviewer"]),
        reviewerId: z.uuid().nullable(),
      })
      .strict(),
  },
  "kyc.escalated": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A verification IN_REVIEW was handed to manual review: no decision within KYC_REVIEW_TIMEOUT_S, or its provider refused it or stayed unavailable (the reason says which).",
    payload: z.object({ ...verification, submittedAt: z.iso.datetime({ offset: true }), reason: z.string() }).strict(),
  },
  "user.verified": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A user's verification is APPROVED (the wallet provisioning consumes it).",
    payload: z.object(verification).strict(),
  },
  "risk.score_updated": {
    version: 1,
    aggregateType: "user",
    emittedWhen: "A provider's decision came with risk signals (a score and/or labels).",
    payload: z.object({ ...verification, score: z.number().nullable(), labels: z.array(z.string()) }).strict(),
  },
} as const satisfies EventCatalogue;
