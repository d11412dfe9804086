import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../logging/logger";
import type { SqlSession } from "./sql";

/** Prisma Migrate's advisory lock key: our migrator and `prisma migrate deploy` exclude each other. */
export const MIGRATION_LOCK_KEY = 72707369;

/**
 * Longest a migration waits for a lock (`lock_timeout`): an ALTER waiting behind a long transaction
 * would make every later query on its table queue behind it, stalling a live database.
 */
export const DEFAULT_MIGRATION_LOCK_TIMEOUT_MS = 5000;

/** PostgreSQL's lock_not_available: `lock_timeout` expired. */
const LOCK_NOT_AVAILABLE = "55P03";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../../prisma/migrations");

/** Prisma's own bookkeeping table, column for column, so `prisma migrate status` agrees with us. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  /** A squashed migration's first line `-- replaces: a, b, …`: the migrations it stands for. */
  replaces?: readonly string[];
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      const replaces = /^-- replaces: (.+)$/m.exec(sql.split("\n", 1)[0] ?? "")?.[1]?.split(/,\s*/);
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex"), ...(replaces && { replaces }) };
    }),
  );
}

/**
 * Applies pending migrations in name order, each in its own transaction together with its
 * `_prisma_migrations` row, under Prisma's advisory lock (several instances starting at once apply
 * each migration once). Refuses to run when an applied migration's file has changed or when a
 * migration is recorded as failed. `session` must be one connection (the lock is per session).
 * A squashed migration (`replaces`) is recorded without running on a database that has applied
 * every migration it replaces, and refused on one that has applied only some of them.
 * A migration that waits longer than `lockTimeoutMs` for a lock fails, rolled back.
 */
export async function migrate(session: SqlSession, logger: Logger, migrations?: MigrationFile[], lockTimeoutMs = DEFAULT_MIGRATION_LOCK_TIMEOUT_MS): Promise<string[]> {
  const files = migrations ?? (await readMigrations());
  await session.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
  try {
    await session.exec(CREATE_MIGRATIONS_TABLE);
    const { rows } = await session.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
    );
    const applied = new Map(rows.map((row) => [row.migration_name, row]));
    for (const row of rows) {
      if (row.finished_at === null) {
        throw new MigrationError(`Migration ${row.migration_name} is recorded as failed; resolve it (prisma migrate resolve) before starting`);
      }
    }
    const known = new Set(files.flatMap((f) => [f.name, ...(f.replaces ?? [])]));
    for (const name of applied.keys()) {
      if (!known.has(name)) logger.warn({ migration: name }, "applied migration not found in prisma/migrations");
    }
    const done: string[] = [];
    for (const file of files) {
      const row = applied.get(file.name);
      if (row) {
        if (row.checksum !== file.checksum) {
          throw new MigrationError(`Migration ${file.name} was modified after it was applied (checksum ${file.checksum} != recorded ${row.checksum}); add a new migration instead`);
        }
        continue;
      }
      if (file.replaces && (await recordSquashed(session, file, file.replaces, applied, logger))) continue;
      await applyOne(session, file, lockTimeoutMs);
      logger.info({ migration: file.name }, "applied migration");
      done.push(file.name);
    }
    return done;
  } finally {
    await session.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
  }
}

/** True when `file` stands for migrations this database has applied, now recorded as applied itself. */
async function recordSquashed(session: SqlSession, file: MigrationFile, replaces: readonly string[], applied: Map<string, AppliedRow>, logger: Logger): Promise<boolean> {
  const missing = replaces.filter((name) => !applied.has(name));
  if (missing.length === replaces.length) return false;
  if (missing.length > 0) {
    throw new MigrationError(
      `Migration ${file.name} replaces ${replaces.join(", ")}; this database has applied some of them but not ${missing.join(", ")}. Deploy a release that still has those migrations first, then this one.`,
    );
  }
  await session.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, finished_at, applied_steps_count) VALUES ($1, $2, $3, $4, now(), now(), 0)`,
    [randomUUID(), file.checksum, file.name, `recorded without running: it replaces ${replaces.join(", ")}, all applied`],
  );
  logger.info({ migration: file.name, replaces: replaces }, "recorded squashed migration");
  return true;
}

async function applyOne(session: SqlSession, file: MigrationFile, lockTimeoutMs: number): Promise<void> {
  await session.exec("BEGIN");
  try {
    await session.query("SELECT set_config('lock_timeout', $1, true)", [`${lockTimeoutMs}ms`]);
    const id = randomUUID();
    await session.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`, [id, file.checksum, file.name]);
    await session.exec(file.sql);
    await session.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
    await session.exec("COMMIT");
  } catch (error) {
    await session.exec("ROLLBACK");
    if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) {
      throw new MigrationError(
        `Migration ${file.name} waited more than ${lockTimeoutMs} ms for a lock another session holds (MIGRATION_LOCK_TIMEOUT_MS) and was rolled back; nothing of it is applied. Run it again when that session is done.`,
      );
    }
    throw new MigrationError(`Migration ${file.name} failed and was rolled back: ${(error as Error).message}`);
  }
}
