import "reflect-metadata";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "./db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "./env";

export interface TestApp {
  app: App;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the real app in service mode on a free port, on a database of its own (created and
 * migrated by the app) and a Redis key prefix of its own.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? freshDatabaseUrl("app");
  const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", REDIS_URL, ...env, DATABASE_URL: databaseUrl });
  const app = await createApp(config, { logger: createLogger({ level: config.LOG_LEVEL }), redisPrefix: `test:${uniqueSuffix()}:` });
  const port = await app.listen(0, "127.0.0.1");
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    databaseUrl,
    async stop() {
      try {
        await app.stop();
      } finally {
        await dropDatabase(databaseUrl);
      }
    },
  };
}
