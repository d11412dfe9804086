import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the KYC module sends. */
export const kycNotifications = {
  "kyc-status-changed": { topic: "kyc", description: "A verification's status changed (params: status, level, reason when there is one)" },
  "kyc-review-escalated": { topic: "staff", description: "To compliance (KYC_COMPLIANCE_EMAIL): a verification IN_REVIEW needs manual review: no decision within KYC_REVIEW_TIMEOUT_S, or its provider refused it or stayed unavailable (params: verificationId, level, provider, submittedAt, reason)" },
} as const satisfies NotificationTemplates;
