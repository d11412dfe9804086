/** The smallest SQL surface the migrator and health checks need; pg.Client and PGlite both fit it. */
export interface SqlSession {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs a script of several statements (simple query protocol). */
  exec(text: string): Promise<unknown>;
}

/** Quotes a PostgreSQL identifier (database name from configuration, never user input). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
