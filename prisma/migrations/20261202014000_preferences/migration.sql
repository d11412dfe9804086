-- The preferences module: a row per user who changed anything (the others have the defaults):
-- theme, the default trading account (cleared when that account goes), watchlists and the
-- notification choices, the latter two as JSON documents read and written whole.
CREATE TABLE "user_preferences" (
    "user_id" UUID NOT NULL,
    "theme" VARCHAR(16) NOT NULL DEFAULT 'SYSTEM',
    "default_trading_account_id" UUID,
    "watchlists" JSONB NOT NULL DEFAULT '[]',
    "notifications" JSONB NOT NULL DEFAULT '[]',
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_preferences_pkey" PRIMARY KEY ("user_id")
);
-- ON DELETE SET NULL looks up the rows naming a deleted account.
CREATE INDEX "user_preferences_default_trading_account_id_idx" ON "user_preferences"("default_trading_account_id");
ALTER TABLE "user_preferences" ADD CONSTRAINT "user_preferences_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_preferences" ADD CONSTRAINT "user_preferences_default_trading_account_id_fkey" FOREIGN KEY ("default_trading_account_id") REFERENCES "trading_accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

GRANT SELECT, INSERT, UPDATE, DELETE ON "user_preferences" TO "identity_app";
