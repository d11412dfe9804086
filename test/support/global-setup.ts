import pg from "pg";
import { Redis } from "ioredis";
import { ensureTemplateDatabase } from "./db";
import { PG_SERVER_URL, REDIS_URL } from "./env";

/**
 * Fails the run at once, with a clear message, when PostgreSQL or Redis is not running; then makes
 * sure the migrated template database of the current migrations exists (test apps start on clones of it).
 */
export default async function globalSetup(): Promise<void> {
  const client = new pg.Client({ connectionString: `${PG_SERVER_URL}/postgres` });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Tests need PostgreSQL at ${PG_SERVER_URL} (TEST_PG_URL): ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Tests need Redis at ${REDIS_URL} (TEST_REDIS_URL): ${(error as Error).message}`, { cause: error });
  } finally {
    redis.disconnect();
  }
  await ensureTemplateDatabase();
}
