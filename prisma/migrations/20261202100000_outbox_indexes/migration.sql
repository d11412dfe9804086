-- The relay's claim (issue 16) reads undelivered rows only: due rows in commit order, and the earlier
-- undelivered rows of one aggregate and destination that a row waits for (WAITS_FOR). Partial indexes
-- that a delivered row leaves keep its cost with the backlog instead of with every row kept for
-- OUTBOX_RETENTION_S (with a full index the claim walked past every delivered row, slower each batch).
CREATE INDEX "outbox_events_pending_seq_idx" ON "outbox_events"("seq") WHERE "published_at" IS NULL AND "parked_at" IS NULL;
CREATE INDEX "outbox_events_undelivered_aggregate_idx" ON "outbox_events"("aggregate_type", "aggregate_id", "destination", "seq") WHERE "published_at" IS NULL;
-- Superseded by the one above (WAITS_FOR names both rows undelivered): one index fewer written per row.
DROP INDEX "outbox_events_aggregate_type_aggregate_id_seq_idx";
