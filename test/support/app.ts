import "reflect-metadata";
import { Writable } from "node:stream";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import type { Clock } from "../../src/platform/clock";
import { createLogger } from "../../src/platform/logging/logger";
import { cloneTemplateDatabase, dropDatabase } from "./db";
import { REDIS_URL, uniqueSuffix } from "./env";

export interface TestApp {
  app: App;
  /** Every log line the app wrote, parsed. */
  logs(): Record<string, unknown>[];
  /** http://127.0.0.1:<port>; empty when started with `listen: false`. */
  baseUrl: string;
  databaseUrl: string;
  /** The prefix of this app's Redis keys and channels. */
  redisPrefix: string;
  stop(): Promise<void>;
}

/**
 * Starts the real app in service mode on a free port, on a database of its own (a clone of the
 * migrated template, unless `env.DATABASE_URL` names one; the app's own migration on start finds
 * nothing to apply) and a Redis key prefix of its own. `listen: false` (service tests) opens no port.
 */
export async function startTestApp(env: Record<string, string> = {}, clock?: Clock, { listen = true, redisPrefix = `test:${uniqueSuffix()}:` } = {}): Promise<TestApp> {
  const databaseUrl = env.DATABASE_URL ?? (await cloneTemplateDatabase("app"));
  const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "info", REDIS_URL, ...env, DATABASE_URL: databaseUrl });
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: config.LOG_LEVEL, destination });
  const app = await createApp(config, { logger, redisPrefix, clock });
  const port = listen ? await app.listen(0, "127.0.0.1") : null;
  return {
    app,
    baseUrl: port === null ? "" : `http://127.0.0.1:${port}`,
    databaseUrl,
    redisPrefix,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop() {
      try {
        await app.stop();
      } finally {
        await dropDatabase(databaseUrl);
      }
    },
  };
}

/** The errors the app logs as "unexpected error" while `fn` runs: a refusal of the caller's own input logs none. */
export async function unexpectedErrorsDuring(t: TestApp, fn: () => Promise<void>): Promise<unknown[]> {
  const before = t.logs().length;
  await fn();
  return t.logs().slice(before).filter((line) => line.msg === "unexpected error").map((line) => line.err);
}
