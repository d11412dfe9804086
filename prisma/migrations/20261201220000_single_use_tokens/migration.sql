-- One table for every single-use token, told apart by purpose (email verification, password
-- reset; next MFA challenges, OAuth state, export links). Only the SHA-256 of a token is stored.
CREATE TABLE "single_use_tokens" (
    "id" UUID NOT NULL,
    "purpose" VARCHAR(40) NOT NULL,
    "user_id" UUID NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "single_use_tokens_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "single_use_tokens_token_hash_key" ON "single_use_tokens"("token_hash");
CREATE INDEX "single_use_tokens_user_id_purpose_idx" ON "single_use_tokens"("user_id", "purpose");
ALTER TABLE "single_use_tokens" ADD CONSTRAINT "single_use_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
GRANT SELECT, INSERT, UPDATE, DELETE ON "single_use_tokens" TO "identity_app";

-- A database migrated before the baseline still has a table per purpose: its tokens move here.
DO $$
DECLARE
  old RECORD;
BEGIN
  FOR old IN SELECT * FROM (VALUES ('email_verification_tokens', 'email-verification'), ('password_reset_tokens', 'password-reset')) AS t(tbl, purpose) LOOP
    IF to_regclass(old.tbl) IS NOT NULL THEN
      EXECUTE format('INSERT INTO single_use_tokens (id, purpose, user_id, token_hash, expires_at, used_at, created_at)
                      SELECT id, %L, user_id, token_hash, expires_at, used_at, created_at FROM %I', old.purpose, old.tbl);
      EXECUTE format('DROP TABLE %I', old.tbl);
    END IF;
  END LOOP;
END $$;
