-- The MFA module: a TOTP secret per user (sealed by the key vault, pending until confirmed), its
-- backup codes (hashed), the second factor a session was started or stepped up with, and what a
-- single-use token is bound to (an MFA challenge: the login attempt's device and address).
CREATE TABLE "mfa_totp" (
    "user_id" UUID NOT NULL,
    "secret_enc" TEXT NOT NULL,
    "wrapped_key" TEXT NOT NULL,
    "kek_id" VARCHAR(200) NOT NULL,
    "enabled_at" TIMESTAMPTZ(3),
    "last_used_step" BIGINT,
    "backup_salt" CHAR(32),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "mfa_totp_pkey" PRIMARY KEY ("user_id")
);
ALTER TABLE "mfa_totp" ADD CONSTRAINT "mfa_totp_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "mfa_backup_codes" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "code_hash" CHAR(64) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mfa_backup_codes_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "mfa_backup_codes_user_id_code_hash_key" ON "mfa_backup_codes"("user_id", "code_hash");
ALTER TABLE "mfa_backup_codes" ADD CONSTRAINT "mfa_backup_codes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "mfa_totp"("user_id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "sessions" ADD COLUMN "amr" TEXT[] NOT NULL DEFAULT ARRAY['pwd']::TEXT[], ADD COLUMN "second_factor_at" TIMESTAMPTZ(3);
ALTER TABLE "single_use_tokens" ADD COLUMN "context" JSONB;

GRANT SELECT, INSERT, UPDATE, DELETE ON "mfa_totp", "mfa_backup_codes" TO "identity_app";
