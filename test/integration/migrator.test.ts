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

describe("a squashed migration (its first line `-- replaces: …`)", () => {
  const squashed = async () => {
    const files = await readMigrations();
    const baseline = files.find((f) => f.replaces);
    if (!baseline?.replaces) throw new Error("no squashed migration in prisma/migrations");
    return { files, baseline, replaces: baseline.replaces };
  };
  /** A database as the replaced migrations left it: the baseline's tables, a token table per purpose, the five rows. */
  async function migratedBeforeTheBaseline(recorded: readonly string[]): Promise<{ userId: string }> {
    const { baseline } = await squashed();
    await migrate(await session(), logger, []); // the bookkeeping table alone
    return withClient(url, async (client) => {
      await client.query(baseline.sql);
      for (const table of ["email_verification_tokens", "password_reset_tokens"]) {
        await client.query(
          `CREATE TABLE ${table} (id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE, token_hash char(64) NOT NULL UNIQUE, expires_at timestamptz(3) NOT NULL, used_at timestamptz(3), created_at timestamptz(3) NOT NULL DEFAULT now())`,
        );
      }
      for (const name of recorded) {
        await client.query(`INSERT INTO _prisma_migrations (id, checksum, migration_name, finished_at, applied_steps_count) VALUES (gen_random_uuid(), $1, $2, now(), 1)`, ["c".repeat(64), name]);
      }
      const user = await client.query<{ id: string }>(`INSERT INTO users (id, email, updated_at) VALUES (gen_random_uuid(), 'old@example.test', now()) RETURNING id`);
      const userId = user.rows[0]?.id as string;
      await client.query(`INSERT INTO email_verification_tokens (id, user_id, token_hash, expires_at) VALUES (gen_random_uuid(), $1, $2, now() + interval '1 day')`, [userId, "e".repeat(64)]);
      await client.query(`INSERT INTO password_reset_tokens (id, user_id, token_hash, expires_at, used_at) VALUES (gen_random_uuid(), $1, $2, now(), now())`, [userId, "p".repeat(64)]);
      return { userId };
    });
  }

  it("issue 11: on a database that applied every migration it replaces it is recorded without running; the later ones apply, moving the old tables' tokens, and the shape is the schema's", async () => {
    const { files, baseline, replaces } = await squashed();
    expect(replaces).toHaveLength(5);
    const { userId } = await migratedBeforeTheBaseline(replaces);
    const applied = await migrate(await session(), logger);
    expect(applied).toEqual(files.filter((f) => f !== baseline).map((f) => f.name));
    await withClient(url, async (client) => {
      const row = await client.query(`SELECT checksum, applied_steps_count, finished_at FROM _prisma_migrations WHERE migration_name = $1`, [baseline.name]);
      expect(row.rows).toEqual([{ checksum: baseline.checksum, applied_steps_count: 0, finished_at: expect.any(Date) }]);
      const tokens = await client.query(`SELECT purpose, user_id::text, token_hash, used_at IS NOT NULL AS used FROM single_use_tokens ORDER BY purpose`);
      expect(tokens.rows).toEqual([
        { purpose: "email-verification", user_id: userId, token_hash: "e".repeat(64), used: false },
        { purpose: "password-reset", user_id: userId, token_hash: "p".repeat(64), used: true },
      ]);
      expect(await actualShape(client)).toEqual(await expectedShape());
    });
    expect(await migrate(await session(), logger)).toEqual([]);
  });

  it("issue 11: on a database that applied only some of the migrations it replaces it is refused, naming those missing, and nothing is recorded", async () => {
    const { baseline, replaces } = await squashed();
    await migratedBeforeTheBaseline(replaces.slice(0, 2));
    const error = await migrate(await session(), logger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toBe(
      `Migration ${baseline.name} replaces ${replaces.join(", ")}; this database has applied some of them but not ${replaces.slice(2).join(", ")}. Deploy a release that still has those migrations first, then this one.`,
    );
    await withClient(url, async (client) => {
      expect((await client.query(`SELECT count(*)::int AS n FROM _prisma_migrations`)).rows[0].n).toBe(2);
    });
  });
});
