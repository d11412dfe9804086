/** The KYC vocabulary shared by the module, its providers and its storage (no decorators here). */

export const KYC_LEVELS = ["BASIC", "ENHANCED"] as const;
export type KycLevel = (typeof KYC_LEVELS)[number];

export const KYC_PROVIDERS = ["SANDBOX", "SUMSUB", "ONFIDO", "STRIPE_IDENTITY"] as const;
export type KycProviderName = (typeof KYC_PROVIDERS)[number];

export const KYC_STATUSES = ["PENDING", "IN_REVIEW", "APPROVED", "REJECTED", "RESUBMISSION_REQUIRED"] as const;
export type KycStatus = (typeof KYC_STATUSES)[number];

export const DOCUMENT_TYPES = ["PASSPORT", "ID_CARD", "DRIVERS_LICENSE", "SELFIE", "PROOF_OF_ADDRESS"] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** What a document may be, recognised by its bytes. */
export const DOCUMENT_MIME_TYPES = ["image/jpeg", "image/png", "application/pdf"] as const;
export type DocumentMime = (typeof DOCUMENT_MIME_TYPES)[number];
