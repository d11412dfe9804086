import type { NotificationTemplates } from "../../platform/events/notifications";

/** Notifications the KYC module sends. */
export const kycNotifications = {
  "kyc-status-changed": { topic: "kyc", description: "A verification's status changed (params: status, level, reason when there is one)" },
  "kyc-review-escalated": { topic: "staff", description: "To compliance (KYC_COMPLIANCE_EMAIL): a verification waited IN_REVIEW past KYC_REVIEW_TIMEOUT_S (params: verificationId, level, provider, submittedAt)" },
} as const satisfies NotificationTemplates;
