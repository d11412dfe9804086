import { createHash } from "node:crypto";
import pg from "pg";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/platform/db/database";
import { readMigrations } from "../../src/platform/db/migrator";
import { quoteIdent } from "../../src/platform/db/sql";
import { createLogger } from "../../src/platform/logging/logger";
import { Metrics } from "../../src/platform/metrics/metrics";
import { PG_SERVER_URL, REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "./env";

const DUPLICATE_DATABASE = "42P04";

/** Runs `fn` with a client on the server's maintenance database. */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(`${PG_SERVER_URL}/postgres`, fn);
}

export async function createDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${quoteIdent(name)}`));
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export async function databaseExists(url: string): Promise<boolean> {
  const name = new URL(url).pathname.slice(1);
  return withAdmin(async (admin) => (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1);
}

/** A client on the database at `url`, closed after `fn`. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

let templateName: Promise<string> | undefined;

/** `identity_template_<hash of the migrations' names and checksums>`: a changed or added migration names a new template. */
export function templateDatabaseName(): Promise<string> {
  templateName ??= readMigrations().then((migrations) => {
    const hash = createHash("sha256");
    for (const m of migrations) hash.update(`${m.name}\0${m.checksum}\0`);
    return `identity_template_${hash.digest("hex").slice(0, 16)}`;
  });
  return templateName;
}

/**
 * Creates the template database of the current migrations once (jest globalSetup): a database of
 * its own name is migrated by the project's own migrator, then renamed, so that concurrent runs
 * never clone a half-migrated one, and closed to connections, so that cloning never finds a session on it.
 */
export async function ensureTemplateDatabase(): Promise<string> {
  const name = await templateDatabaseName();
  if (await databaseExists(`${PG_SERVER_URL}/${name}`)) return name;
  const building = `${name}_${uniqueSuffix()}`;
  const database = await openDatabase(loadConfig({ NODE_ENV: "test", DATABASE_URL: `${PG_SERVER_URL}/${building}`, REDIS_URL }), createLogger({ level: "silent" }), new Metrics());
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
  try {
    await withAdmin(async (admin) => {
      await admin.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
      await admin.query(`ALTER DATABASE ${quoteIdent(name)} WITH ALLOW_CONNECTIONS false`);
    });
  } catch (error) {
    await dropDatabase(`${PG_SERVER_URL}/${building}`);
    if ((error as { code?: string }).code !== DUPLICATE_DATABASE) throw error; // another run built it first
  }
  return name;
}

/** URL of a new database cloned from the migrated template (`CREATE DATABASE ... TEMPLATE`): no migration left to apply. */
export async function cloneTemplateDatabase(label: string): Promise<string> {
  const url = freshDatabaseUrl(label);
  const template = await templateDatabaseName();
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${quoteIdent(new URL(url).pathname.slice(1))} TEMPLATE ${quoteIdent(template)}`));
  return url;
}
