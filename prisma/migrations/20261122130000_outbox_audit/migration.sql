-- CreateTable
CREATE TABLE "outbox_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "destination" VARCHAR(64) NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "aggregate_type" VARCHAR(50) NOT NULL,
    "aggregate_id" VARCHAR(100) NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "published_at" TIMESTAMPTZ(3),
    "parked_at" TIMESTAMPTZ(3),

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "processed_events" (
    "consumer" VARCHAR(100) NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" VARCHAR(20) NOT NULL,
    "actor_id" VARCHAR(100),
    "action" VARCHAR(100) NOT NULL,
    "subject_type" VARCHAR(50),
    "subject_id" VARCHAR(100),
    "outcome" VARCHAR(20) NOT NULL,
    "ip_address" VARCHAR(45),
    "user_agent" VARCHAR(512),
    "request_id" VARCHAR(128),
    "metadata" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_chain" (
    "seq" BIGINT NOT NULL,
    "audit_id" BIGINT NOT NULL,
    "prev_hash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "chained_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_chain_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "audit_checkpoints" (
    "seq" BIGINT NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "key_id" VARCHAR(64) NOT NULL,
    "signature" VARCHAR(128) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "outbox_events_seq_key" ON "outbox_events"("seq");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_parked_at_next_attempt_at_idx" ON "outbox_events"("published_at", "parked_at", "next_attempt_at");

-- CreateIndex
CREATE INDEX "outbox_events_aggregate_type_aggregate_id_seq_idx" ON "outbox_events"("aggregate_type", "aggregate_id", "seq");

-- CreateIndex
CREATE INDEX "audit_events_actor_id_id_idx" ON "audit_events"("actor_id", "id");

-- CreateIndex
CREATE INDEX "audit_events_subject_type_subject_id_id_idx" ON "audit_events"("subject_type", "subject_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_chain_audit_id_key" ON "audit_chain"("audit_id");

-- Audit records are append-only for everyone, table owner included: UPDATE, DELETE and TRUNCATE raise.
CREATE FUNCTION "audit_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit records are append-only (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER "audit_events_append_only" BEFORE UPDATE OR DELETE ON "audit_events" FOR EACH ROW EXECUTE FUNCTION "audit_append_only"();
CREATE TRIGGER "audit_events_no_truncate" BEFORE TRUNCATE ON "audit_events" FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"();
CREATE TRIGGER "audit_chain_append_only" BEFORE UPDATE OR DELETE ON "audit_chain" FOR EACH ROW EXECUTE FUNCTION "audit_append_only"();
CREATE TRIGGER "audit_chain_no_truncate" BEFORE TRUNCATE ON "audit_chain" FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"();
CREATE TRIGGER "audit_checkpoints_append_only" BEFORE UPDATE OR DELETE ON "audit_checkpoints" FOR EACH ROW EXECUTE FUNCTION "audit_append_only"();
CREATE TRIGGER "audit_checkpoints_no_truncate" BEFORE TRUNCATE ON "audit_checkpoints" FOR EACH STATEMENT EXECUTE FUNCTION "audit_append_only"();

-- The role the service runs as in production (migrations run as the owner): it may read and append
-- audit records, never change or remove them.
-- Roles are per cluster: another database of the same server may create it at the same moment.
DO $$
BEGIN
  CREATE ROLE "identity_app" NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END;
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON "users", "outbox_events", "processed_events" TO "identity_app";
GRANT SELECT, INSERT ON "audit_events", "audit_chain", "audit_checkpoints" TO "identity_app";
REVOKE UPDATE, DELETE, TRUNCATE ON "audit_events", "audit_chain", "audit_checkpoints" FROM "identity_app";
GRANT USAGE ON SEQUENCE "outbox_events_seq_seq", "audit_events_id_seq" TO "identity_app";
