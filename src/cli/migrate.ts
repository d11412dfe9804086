// npm run db:migrate — applies pending migrations (prisma/migrations) to the configured database,
// exactly as start-up does, then exits. Useful as a deploy step when MIGRATE_ON_START=false.
import { ConfigError, loadConfig } from "../config";
import { openDatabase } from "../platform/db/database";
import { createLogger } from "../platform/logging/logger";
import { Metrics } from "../platform/metrics/metrics";

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL });
  const database = await openDatabase(config, logger, new Metrics());
  try {
    const applied = await database.migrate();
    logger.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : "database is up to date");
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`db:migrate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
