// npm run db:migrate — applies pending migrations (prisma/migrations) to the configured database,
// exactly as start-up does, then exits. Useful as a deploy step when MIGRATE_ON_START=false.
import { runCli } from "./context";

runCli("db:migrate", async ({ database, logger }) => {
  const applied = await database.migrate();
  logger.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : "database is up to date");
  return 0;
});
