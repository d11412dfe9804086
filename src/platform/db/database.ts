import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { citext } from "@electric-sql/pglite/contrib/citext";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { Config } from "../../config";
import { PrismaClient, Prisma as PrismaNamespace } from "../../generated/prisma/client";
import type { Logger } from "../logging/logger";
import type { Metrics } from "../metrics/metrics";
import { ensureDatabase } from "./ensure-database";
import { migrate } from "./migrator";
import { liteSqlClient, pgSqlClient, type SqlClient, type SqlSession } from "./sql";

export type Prisma = PrismaClient<"query">;
/** The client inside an interactive transaction. */
export type Tx = PrismaNamespace.TransactionClient;
/** A parameterised SQL fragment for `$queryRaw`, composable into larger statements. */
export type Sql = PrismaNamespace.Sql;
export const { sql, empty, join, raw } = PrismaNamespace;

/** The database of one app: a Prisma client plus what start-up and health checks need. */
export interface Database {
  readonly prisma: Prisma;
  /** The same connections without Prisma, for hot paths (prepared statements through pg). */
  readonly sql: SqlClient;
  /** Applies pending migrations (on a dedicated session, under the migration lock). */
  migrate(): Promise<string[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The query metrics count the statements sent without Prisma too. */
function observedSql(client: SqlClient, metrics: Metrics): SqlClient {
  client.onQuery((_text, seconds) => {
    metrics.dbQueries.inc();
    metrics.dbQueryDuration.observe(seconds);
  });
  return client;
}

function createPrisma(adapter: PrismaPg | PrismaPGlite, metrics: Metrics): Prisma {
  // "minimal": no call-site capture on every query (the stack of an unexpected error is logged anyway).
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }], errorFormat: "minimal" });
  prisma.$on("query", (event) => {
    metrics.dbQueries.inc();
    metrics.dbQueryDuration.observe(event.duration / 1000);
  });
  return prisma;
}

/** Service mode: PostgreSQL through a pg pool; the database is created if it does not exist. */
async function openPostgres(config: Config, logger: Logger, metrics: Metrics): Promise<Database> {
  const url = config.DATABASE_URL as string;
  await ensureDatabase(url, logger);
  const pool = new pg.Pool({ connectionString: url, max: config.DATABASE_POOL_SIZE });
  pool.on("error", (error) => logger.warn({ err: { message: error.message } }, "idle PostgreSQL connection failed"));
  const prisma = createPrisma(new PrismaPg(pool), metrics);
  return {
    prisma,
    sql: observedSql(pgSqlClient(pool), metrics),
    async migrate() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const session: SqlSession = {
          query: async <T>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params)).rows as T[] }),
          exec: (text) => client.query(text),
        };
        return await migrate(session, logger, undefined, config.MIGRATION_LOCK_TIMEOUT_MS);
      } finally {
        await client.end();
      }
    },
    async ping() {
      await pool.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Embedded mode: PGlite (PostgreSQL compiled to WebAssembly) in a local directory. */
async function openEmbedded(config: Config, logger: Logger, metrics: Metrics): Promise<Database> {
  await mkdir(config.EMBEDDED_DATA_DIR, { recursive: true });
  const lite = await PGlite.create({ dataDir: `${config.EMBEDDED_DATA_DIR}/pglite`, extensions: { citext } });
  const prisma = createPrisma(new PrismaPGlite(lite), metrics);
  return {
    prisma,
    sql: observedSql(liteSqlClient(lite), metrics),
    migrate: () => migrate(lite, logger, undefined, config.MIGRATION_LOCK_TIMEOUT_MS),
    async ping() {
      await lite.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}

export function openDatabase(config: Config, logger: Logger, metrics: Metrics): Promise<Database> {
  return config.mode === "service" ? openPostgres(config, logger, metrics) : openEmbedded(config, logger, metrics);
}
