import { readMigrations } from "../../src/platform/db/migrator";
import { startTestApp } from "../support/app";
import { templateDatabaseName, withAdmin, withClient } from "../support/db";

it("test databases: a test app starts on a clone of the migrated template, its migration on start applying nothing", async () => {
  const t = await startTestApp({ OUTBOX_RELAY: "false" });
  try {
    expect(t.app.config.MIGRATE_ON_START).toBe(true);
    expect(t.logs().filter((line) => line.msg === "applied migration" || line.msg === "created database")).toEqual([]);
    const applied = await withClient(t.databaseUrl, async (c) => (await c.query<{ name: string }>(`SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1`)).rows);
    expect(applied.map((row) => row.name)).toEqual((await readMigrations()).map((m) => m.name));
  } finally {
    await t.stop();
  }
});

it("test databases: the template is named after the migrations and takes no connections, so cloning never finds a session on it", async () => {
  const name = await templateDatabaseName();
  expect(name).toMatch(/^identity_template_[0-9a-f]{16}$/);
  const row = await withAdmin(async (admin) => (await admin.query<{ datallowconn: boolean }>("SELECT datallowconn FROM pg_database WHERE datname = $1", [name])).rows[0]);
  expect(row).toEqual({ datallowconn: false });
});
