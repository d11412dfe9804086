-- The trading-accounts module: linked brokerage accounts (credentials sealed under a data key of
-- their own, each field bound to the account and its name), that key (sealed by the key vault:
-- deleting it shreds the credentials), and the members an owner shared an account with.
CREATE TABLE "trading_accounts" (
    "id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "broker" VARCHAR(16) NOT NULL,
    "broker_user_id" VARCHAR(64) NOT NULL,
    "nickname" VARCHAR(100),
    "status" VARCHAR(32) NOT NULL,
    "api_key_enc" TEXT NOT NULL,
    "api_secret_enc" TEXT NOT NULL,
    "access_token_enc" TEXT NOT NULL,
    "profile" JSONB NOT NULL,
    "session_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "last_verified_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "trading_accounts_pkey" PRIMARY KEY ("id")
);
-- A broker account is linked by one owner only.
CREATE UNIQUE INDEX "trading_accounts_broker_broker_user_id_key" ON "trading_accounts"("broker", "broker_user_id");
CREATE INDEX "trading_accounts_owner_id_idx" ON "trading_accounts"("owner_id");
CREATE INDEX "trading_accounts_status_session_expires_at_idx" ON "trading_accounts"("status", "session_expires_at");
ALTER TABLE "trading_accounts" ADD CONSTRAINT "trading_accounts_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "trading_account_keys" (
    "account_id" UUID NOT NULL,
    "key_enc" TEXT NOT NULL,
    "wrapped_key" TEXT NOT NULL,
    "kek_id" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trading_account_keys_pkey" PRIMARY KEY ("account_id")
);
ALTER TABLE "trading_account_keys" ADD CONSTRAINT "trading_account_keys_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "trading_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "trading_account_members" (
    "account_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "added_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trading_account_members_pkey" PRIMARY KEY ("account_id", "user_id")
);
CREATE INDEX "trading_account_members_user_id_idx" ON "trading_account_members"("user_id");
ALTER TABLE "trading_account_members" ADD CONSTRAINT "trading_account_members_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "trading_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "trading_account_members" ADD CONSTRAINT "trading_account_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

GRANT SELECT, INSERT, UPDATE, DELETE ON "trading_accounts", "trading_account_keys", "trading_account_members" TO "identity_app";

-- Built in, and an admin may delete it: orders only for users whose identity is verified.
INSERT INTO "policies" ("id", "name", "description", "effect", "priority", "subjects", "actions", "resources", "condition", "updated_at")
VALUES ('5b0f3c1e-7d2a-4c8e-9f61-0a3b2c4d5e6f', 'orders-need-verified-identity', 'Built in: trading:orders:place on a trading account only for users whose KYC status is APPROVED (an admin may delete this policy)', 'DENY', 0, ARRAY['*'], ARRAY['trading:orders:place'], ARRAY['trading_account:*'], 'principal.kycStatus != "APPROVED"', CURRENT_TIMESTAMP)
ON CONFLICT ("name") DO NOTHING;
