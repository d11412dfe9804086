import { ConfigError, loadConfig, type Config } from "../config";
import { openDatabase, type Database } from "../platform/db/database";
import { createLogger, type Logger } from "../platform/logging/logger";
import { Metrics } from "../platform/metrics/metrics";

/** Runs a command-line tool against the configured database; errors become one line and exit 1. */
export function runCli(name: string, main: (deps: { config: Config; database: Database; logger: Logger; args: string[] }) => Promise<number>): void {
  const run = async () => {
    const config = loadConfig();
    const logger = createLogger({ level: config.LOG_LEVEL });
    const database = await openDatabase(config, logger, new Metrics());
    try {
      return await main({ config, database, logger, args: process.argv.slice(2) });
    } finally {
      await database.close();
    }
  };
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
