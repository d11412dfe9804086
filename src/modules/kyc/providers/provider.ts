import type { IncomingHttpHeaders } from "node:http";
import type { DocumentMime, DocumentType, KycLevel, KycProviderName } from "../kyc.model";

/** The provider calls that go through the resilience policy (`parseWebhook` never leaves the process). */
export type KycCall = "createApplicant" | "uploadDocument" | "requestCheck" | "getStatus";

/** A verification's submission attempt as a provider is asked to open it (no more personal data than this). */
export interface ApplicantRequest {
  verificationId: string;
  /**
   * The attempt's own reference (`applicantReference`): the provider's external id (Sumsub
   * `externalUserId`, Stripe `client_reference_id` and Idempotency-Key, Onfido's last name, the
   * sandbox's key). Each attempt is an applicant of its own, so a late answer about an earlier
   * attempt's documents names no verification.
   */
  reference: string;
  userId: string;
  email: string;
  level: KycLevel;
}

/** Where a verification lives at the provider: the applicant (or session), and the check once requested. */
export interface ProviderRef {
  applicantId: string;
  /** Onfido's check id; null where the applicant itself carries the review (Sumsub, Stripe, the sandbox). */
  checkId: string | null;
  /** Where the user completes the provider's own flow, when it has one (Stripe Identity's hosted page); given by createApplicant. */
  url?: string | null;
}

/** The reference of a verification's submission attempt at its provider. */
export const applicantReference = (verificationId: string, attempt: number): string => `${verificationId}-${attempt}`;

/** One document, as read back from storage, for the provider. */
export interface ProviderDocument {
  documentId: string;
  type: DocumentType;
  fileName: string;
  mime: DocumentMime;
  content: Buffer;
}

/** Risk signals, where a provider gives them (`risk.score_updated`). */
export interface RiskSignals {
  /** 0 (no risk) to 100, when the provider scores. */
  score: number | null;
  /** The provider's own labels (Sumsub rejectLabels, Onfido report breakdowns, Stripe last_error.code). */
  labels: string[];
}

/** What a provider says of a verification, in our statuses. */
export interface ProviderVerdict {
  /** IN_REVIEW while the provider works; a decision otherwise. */
  status: "IN_REVIEW" | "APPROVED" | "REJECTED" | "RESUBMISSION_REQUIRED";
  /**
   * Why, for a rejection or a resubmission request, as the user reads it: the provider's words
   * meant for the applicant, else `NEUTRAL_REASONS`; never personal data, never the provider's
   * internal labels (those go to `risk`).
   */
  reason: string | null;
  /** The provider's own time of this status (ms since the epoch): later news wins, older news is ignored. */
  occurredAt: number;
  risk: RiskSignals | null;
}

/**
 * What a decision tells the user when the provider has no words meant for them. A provider's
 * labels (a sanctions match, a suspected forgery) would tip the person off: they stay in the risk
 * signals, for compliance.
 */
export const NEUTRAL_REASONS = {
  RESUBMISSION_REQUIRED: "Please upload clearer documents",
  REJECTED: "The documents could not be verified",
} as const;

/** A webhook whose signature checked out, reduced to what identifies it and what it says. */
export interface WebhookNotice {
  /** The same delivery twice has the same id (the idempotency key). */
  deliveryId: string;
  /** Which verification: by the provider's applicant (or session) id, or its check id. */
  ref: { applicantId: string } | { checkId: string };
  /** The provider's time of the event (ms since the epoch), for ordering. */
  occurredAt: number;
  /** What the payload says, or null when it only says "something changed": then ask `getStatus`. */
  verdict: ProviderVerdict | null;
}

/** A webhook whose signature (or timestamp) does not check out: answered 401, nothing changes. */
export class WebhookSignatureError extends Error {}

/**
 * One KYC provider, as the module calls it. Adapters speak the provider's real API; every call
 * takes an AbortSignal (the resilience policy's timeout). A call that fails for want of an answer
 * throws ProviderUnavailableError (src/platform/http/provider-http.ts); any other error is the
 * provider refusing the request.
 */
export interface KycProvider {
  readonly name: KycProviderName;
  /**
   * The calls that may be sent again after a timeout without doing twice what the first may have
   * done (the adapter makes them so, or they only read); a timed-out attempt of any other is not
   * retried.
   */
  readonly idempotent: ReadonlySet<KycCall>;
  createApplicant(request: ApplicantRequest, signal: AbortSignal): Promise<ProviderRef>;
  uploadDocument(ref: ProviderRef, document: ProviderDocument, signal: AbortSignal): Promise<void>;
  /** Asks for the review once every document is there; answers the ref with its check id where one is made. */
  requestCheck(ref: ProviderRef, signal: AbortSignal): Promise<ProviderRef>;
  getStatus(ref: ProviderRef, signal: AbortSignal): Promise<ProviderVerdict>;
  /**
   * Checks a webhook against the raw body with a constant-time compare and reads it: a notice,
   * null for an event that says nothing about a verification, or WebhookSignatureError.
   * `now` (ms) is for schemes with a timestamp tolerance (Stripe's 300 s).
   */
  parseWebhook(rawBody: Buffer, headers: IncomingHttpHeaders, now: number): WebhookNotice | null;
}
