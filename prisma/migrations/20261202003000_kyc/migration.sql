-- The KYC module: verifications (one open per user and level) with their provider references,
-- documents (bytes sealed in document storage under the user's document key), the user's document
-- key (sealed by the key vault: deleting it shreds every document), webhook deliveries (the
-- idempotency record, in the provider's order) and the in-process sandbox provider's applicants.
CREATE TABLE "kyc_verifications" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "level" VARCHAR(16) NOT NULL,
    "provider" VARCHAR(32) NOT NULL,
    "status" VARCHAR(32) NOT NULL,
    "reason" VARCHAR(500),
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "applicant_id" VARCHAR(200),
    "check_id" VARCHAR(200),
    "provider_news_at" TIMESTAMPTZ(3),
    "submitted_at" TIMESTAMPTZ(3),
    "decided_at" TIMESTAMPTZ(3),
    "decided_by" UUID,
    "escalated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "kyc_verifications_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "kyc_verifications_user_id_level_idx" ON "kyc_verifications"("user_id", "level");
CREATE INDEX "kyc_verifications_applicant_id_idx" ON "kyc_verifications"("applicant_id");
CREATE INDEX "kyc_verifications_check_id_idx" ON "kyc_verifications"("check_id");
CREATE INDEX "kyc_verifications_status_submitted_at_idx" ON "kyc_verifications"("status", "submitted_at");
-- At most one open verification per user and level (Prisma cannot express a partial index).
CREATE UNIQUE INDEX "kyc_verifications_open_key" ON "kyc_verifications"("user_id", "level") WHERE "status" IN ('PENDING', 'IN_REVIEW', 'RESUBMISSION_REQUIRED');
ALTER TABLE "kyc_verifications" ADD CONSTRAINT "kyc_verifications_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "kyc_documents" (
    "id" UUID NOT NULL,
    "verification_id" UUID NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "mime" VARCHAR(32) NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempt" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kyc_documents_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "kyc_documents_verification_id_idx" ON "kyc_documents"("verification_id");
ALTER TABLE "kyc_documents" ADD CONSTRAINT "kyc_documents_verification_id_fkey" FOREIGN KEY ("verification_id") REFERENCES "kyc_verifications"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "kyc_document_keys" (
    "user_id" UUID NOT NULL,
    "key_enc" TEXT NOT NULL,
    "wrapped_key" TEXT NOT NULL,
    "kek_id" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kyc_document_keys_pkey" PRIMARY KEY ("user_id")
);
ALTER TABLE "kyc_document_keys" ADD CONSTRAINT "kyc_document_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "kyc_webhook_deliveries" (
    "provider" VARCHAR(32) NOT NULL,
    "delivery_id" VARCHAR(200) NOT NULL,
    "notice" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),
    "outcome" VARCHAR(200),

    CONSTRAINT "kyc_webhook_deliveries_pkey" PRIMARY KEY ("provider", "delivery_id")
);
CREATE INDEX "kyc_webhook_deliveries_processed_at_received_at_idx" ON "kyc_webhook_deliveries"("processed_at", "received_at");

CREATE TABLE "kyc_sandbox_applicants" (
    "applicant_id" UUID NOT NULL,
    "verification_id" UUID NOT NULL,
    "reject" BOOLEAN NOT NULL DEFAULT false,
    "documents" INTEGER NOT NULL DEFAULT 0,
    "check_requested_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kyc_sandbox_applicants_pkey" PRIMARY KEY ("applicant_id")
);
CREATE UNIQUE INDEX "kyc_sandbox_applicants_verification_id_key" ON "kyc_sandbox_applicants"("verification_id");

GRANT SELECT, INSERT, UPDATE, DELETE ON "kyc_verifications", "kyc_documents", "kyc_document_keys", "kyc_webhook_deliveries", "kyc_sandbox_applicants" TO "identity_app";
