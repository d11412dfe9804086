import { createHash } from "node:crypto";
import pg from "pg";
import { MigrationError, migrate, readMigrations, type MigrationFile } from "../../src/platform/db/migrator";
import type { SqlSession } from "../../src/platform/db/sql";
import { createLogger } from "../../src/platform/logging/logger";
import { createDatabase, dropDatabase, withClient } from "../support/db";
import { freshDatabaseUrl } from "../support/env";
import { actualShape, expectedShape } from "../support/schema-drift";

const logger = createLogger({ level: "silent" });
let url: string;
const opened: pg.Client[] = [];

async function session(): Promise<SqlSession> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  opened.push(client);
  return { query: async <T>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params)).rows as T[] }), exec: (text) => client.query(text) };
}

beforeEach(async () => {
  url = freshDatabaseUrl("mig");
  await createDatabase(url);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.end()));
  await dropDatabase(url);
});

it("applies each migration once when five instances start at once, recorded as Prisma records them", async () => {
  const files = await readMigrations();
  expect(files.length).toBeGreaterThan(0);
  const sessions = await Promise.all(Array.from({ length: 5 }, session));
  const results = await Promise.all(sessions.map((s) => migrate(s, logger)));
  expect(results.flat().sort()).toEqual(files.map((f) => f.name).sort());
  await withClient(url, async (client) => {
    const rows = await client.query(`SELECT migration_name, checksum, finished_at, applied_steps_count, rolled_back_at FROM _prisma_migrations ORDER BY migration_name`);
    expect(rows.rows).toEqual(
      files.map((f) => ({ migration_name: f.name, checksum: createHash("sha256").update(f.sql).digest("hex"), finished_at: expect.any(Date), applied_steps_count: 1, rolled_back_at: null })),
    );
    const columns = await client.query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`);
    expect(columns.rows.map((c) => `${c.column_name} ${c.data_type} ${c.is_nullable}`)).toEqual([
      "id character varying NO",
      "checksum character varying NO",
      "finished_at timestamp with time zone YES",
      "migration_name character varying NO",
      "logs text YES",
      "rolled_back_at timestamp with time zone YES",
      "started_at timestamp with time zone NO",
      "applied_steps_count integer NO",
    ]);
  });
  expect(await migrate(await session(), logger)).toEqual([]);
});

it("refuses to run when an applied migration's file has changed", async () => {
  const files = await readMigrations();
  await migrate(await session(), logger, files);
  const edited: MigrationFile[] = files.map((f, i) => (i === 0 ? { ...f, checksum: createHash("sha256").update(`${f.sql}\n-- edited`).digest("hex") } : f));
  const error = await migrate(await session(), logger, edited).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(MigrationError);
  expect((error as Error).message).toMatch(new RegExp(`Migration ${files[0]?.name} was modified after it was applied`));
});

it("rolls a failing migration back whole and records nothing", async () => {
  const files = await readMigrations();
  const broken: MigrationFile = { name: "29990101000000_broken", sql: 'CREATE TABLE "half" (id int);\nSELECT * FROM "no_such_table";', checksum: "x".repeat(64) };
  const error = await migrate(await session(), logger, [...files, broken]).catch((e: unknown) => e);
  expect((error as Error).message).toMatch(/Migration 29990101000000_broken failed and was rolled back: relation "no_such_table" does not exist/);
  await withClient(url, async (client) => {
    expect((await client.query(`SELECT to_regclass('half') AS t`)).rows[0].t).toBeNull();
    expect((await client.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = $1`, [broken.name])).rows[0].n).toBe(0);
  });
});

it("issue 10 item 15: a migration waiting for a lock another session holds fails after the lock timeout, rolled back and named, instead of stalling the database", async () => {
  const files = await readMigrations();
  await migrate(await session(), logger, files);
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  opened.push(holder);
  // A long transaction reading users: ALTER TABLE must wait for it, and every later query on users would queue behind the ALTER.
  await holder.query("BEGIN; SELECT count(*) FROM users");
  // Without a lock timeout the migration would wait for ever; the holder gives up after 10 s so that the test ends either way.
  const release = setTimeout(() => void holder.query("COMMIT"), 10_000);
  const alter: MigrationFile = { name: "29990101000000_alter_users", sql: 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;', checksum: "a".repeat(64) };
  try {
    const error = await migrate(await session(), logger, [...files, alter], 200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toBe(
      "Migration 29990101000000_alter_users waited more than 200 ms for a lock another session holds (MIGRATION_LOCK_TIMEOUT_MS) and was rolled back; nothing of it is applied. Run it again when that session is done.",
    );
    await withClient(url, async (client) => {
      expect((await client.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = $1`, [alter.name])).rows[0].n).toBe(0);
    });
  } finally {
    clearTimeout(release);
    await holder.query("COMMIT");
  }
  // Once the lock is free, the same migration applies.
  expect(await migrate(await session(), logger, [...files, alter], 200)).toEqual([alter.name]);
});

describe("schema.prisma and the migrations", () => {
  it("describe the same tables, columns, types, nullability, indexes and enums", async () => {
    await migrate(await session(), logger);
    const actual = await withClient(url, actualShape);
    expect(actual).toEqual(await expectedShape());
  });

  it("the comparison catches drift (a changed nullability and an extra index)", async () => {
    await migrate(await session(), logger);
    await withClient(url, (c) => c.query(`ALTER TABLE users ALTER COLUMN locale DROP NOT NULL; CREATE INDEX users_name_idx ON users(name)`));
    const actual = await withClient(url, actualShape);
    const expected = await expectedShape();
    expect(actual.filter((line) => !expected.includes(line))).toEqual(["column users.locale character varying(35) null", "index users.users_name_idx (name)"]);
  });
});
