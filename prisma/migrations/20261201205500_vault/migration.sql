-- Signing keys move under the key vault (envelope encryption, SECURITY 56): each private half is
-- sealed under a data key of its own, stored wrapped beside it with the id of the key-encryption
-- key that wrapped it. Rows sealed before hold their value under KEY_ENCRYPTION_KEY alone: they are
-- marked 'legacy' here, still open under KEY_ENCRYPTION_KEY, and the first start re-seals them.
ALTER TABLE "signing_keys" ADD COLUMN "wrapped_key" TEXT NOT NULL DEFAULT '', ADD COLUMN "kek_id" VARCHAR(200) NOT NULL DEFAULT 'legacy';
ALTER TABLE "signing_keys" ALTER COLUMN "wrapped_key" DROP DEFAULT, ALTER COLUMN "kek_id" DROP DEFAULT;
