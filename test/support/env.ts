import { randomBytes } from "node:crypto";

/** The PostgreSQL server and Redis the tests use (the real ones on this machine). */
export const PG_SERVER_URL = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export function uniqueSuffix(): string {
  return randomBytes(6).toString("hex");
}

/** URL of a database that does not exist yet (the app creates it, as in production). */
export function freshDatabaseUrl(label: string): string {
  return `${PG_SERVER_URL}/identity_test_${label}_${uniqueSuffix()}`;
}
