-- The admin module: adminUsers lists users newest first, keyset-paginated on (created_at, id).
CREATE INDEX "users_created_at_id_idx" ON "users"("created_at", "id");
