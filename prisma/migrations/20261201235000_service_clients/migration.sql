-- The clients module: service clients of the client credentials grant (POST /oauth/token). The
-- secret is kept only as its SHA-256; client_id is public.
CREATE TABLE "service_clients" (
    "id" UUID NOT NULL,
    "client_id" VARCHAR(64) NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "scopes" TEXT[] NOT NULL,
    "secret_hash" CHAR(64) NOT NULL,
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disabled_at" TIMESTAMPTZ(3),
    "secret_rotated_at" TIMESTAMPTZ(3),

    CONSTRAINT "service_clients_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "service_clients_client_id_key" ON "service_clients"("client_id");

GRANT SELECT, INSERT, UPDATE, DELETE ON "service_clients" TO "identity_app";
