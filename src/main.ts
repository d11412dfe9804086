import "reflect-metadata";
import { createApp } from "./app";
import { ConfigError, loadConfig, type Config } from "./config";
import { createLogger, type Logger } from "./platform/logging/logger";

function announceMode(config: Config, logger: Logger): void {
  if (config.mode === "embedded") {
    logger.info(
      { mode: "embedded", dataDir: config.EMBEDDED_DATA_DIR },
      "embedded mode: PGlite database in EMBEDDED_DATA_DIR, in-memory PubSub and rate limits. " +
        "For service mode set DATABASE_URL (PostgreSQL) and REDIS_URL.",
    );
  } else {
    logger.info({ mode: "service" }, "service mode: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). Unset both for embedded mode.");
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`identity-subgraph: ${error.message}\nSee .env.example for every variable and its default.\n`);
    process.exit(78); // EX_CONFIG
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  announceMode(config, logger);
  const app = await createApp(config, { logger });
  const port = await app.listen();
  logger.info({ port, graphql: `http://localhost:${port}/graphql` }, "identity subgraph ready");

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutdown timed out; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 2000);
    force.unref();
    app.stop().then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((error: unknown) => {
  // Last resort: one line, no stack (start-up failures such as an unreachable database).
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`identity-subgraph: failed to start: ${message}\n`);
  process.exit(1);
});
