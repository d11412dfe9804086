-- KYC submission attempts, each with an applicant of its own at the provider (so a late answer about
-- an earlier attempt's documents names no verification): the sandbox provider keys its applicants by
-- the attempt's reference (`<verification id>-<attempt>`) instead of the verification. And where the
-- user completes a provider's own flow, when it has one (Stripe Identity's hosted page).
ALTER TABLE "kyc_sandbox_applicants" RENAME COLUMN "verification_id" TO "reference";
ALTER TABLE "kyc_sandbox_applicants" ALTER COLUMN "reference" TYPE VARCHAR(200) USING "reference"::text;
ALTER INDEX "kyc_sandbox_applicants_verification_id_key" RENAME TO "kyc_sandbox_applicants_reference_key";

ALTER TABLE "kyc_verifications" ADD COLUMN "provider_url" VARCHAR(2000);
