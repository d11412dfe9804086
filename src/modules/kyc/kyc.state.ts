import type { KycStatus } from "./kyc.model";

/** What moves a verification: the user, the provider or a compliance reviewer. */
export type KycTransition =
  | { by: "user"; action: "submit" }
  | { by: "provider"; to: "IN_REVIEW" | "APPROVED" | "REJECTED" | "RESUBMISSION_REQUIRED" }
  | { by: "reviewer"; to: "APPROVED" | "REJECTED" | "RESUBMISSION_REQUIRED" };

/** A move the state machine refuses, with the reason in words. */
export class IllegalTransition extends Error {}

export const OPEN_STATUSES: readonly KycStatus[] = ["PENDING", "IN_REVIEW", "RESUBMISSION_REQUIRED"];
export const DECIDED_STATUSES: readonly KycStatus[] = ["APPROVED", "REJECTED"];

/** Whether documents may be added: before the first submission, and after a resubmission request. */
export const acceptsDocuments = (status: KycStatus): boolean => status === "PENDING" || status === "RESUBMISSION_REQUIRED";

/**
 * The verification state machine:
 * PENDING → IN_REVIEW (the user submits) → APPROVED | REJECTED | RESUBMISSION_REQUIRED (the provider
 * or a reviewer decides); RESUBMISSION_REQUIRED → IN_REVIEW (documents again, submitted again).
 * APPROVED and REJECTED are final. A provider's news only counts while the verification is IN_REVIEW
 * (so a late answer after a reviewer's decision, or after a resubmission request, changes nothing);
 * a reviewer decides a verification that is IN_REVIEW or waiting for a provider that went quiet.
 * Returns the next status, or null for news that changes nothing (a provider repeating IN_REVIEW).
 */
export function nextStatus(from: KycStatus, transition: KycTransition): KycStatus | null {
  switch (transition.by) {
    case "user":
      if (!acceptsDocuments(from)) throw new IllegalTransition(`a verification that is ${from} cannot be submitted`);
      return "IN_REVIEW";
    case "provider":
      if (from !== "IN_REVIEW") throw new IllegalTransition(`a provider's ${transition.to} does not apply to a verification that is ${from}`);
      return transition.to === "IN_REVIEW" ? null : transition.to;
    case "reviewer":
      if (from !== "IN_REVIEW") throw new IllegalTransition(`a verification that is ${from} cannot be reviewed (only IN_REVIEW)`);
      return transition.to;
  }
}
