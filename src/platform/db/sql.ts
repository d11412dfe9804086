import pg from "pg";
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

/** A parameterised statement (Prisma's `sql` tag builds one; `text` numbers its parameters $1, $2…). */
export interface Statement {
  readonly text: string;
  readonly values: unknown[];
}

/** Runs statements on one connection (inside a transaction). */
export type Query = <R>(statement: Statement) => Promise<R[]>;

/**
 * SQL without Prisma, for hot paths where Prisma's per-statement cost dominates (issue 16): pg's
 * pool in service mode, PGlite in embedded mode. Rows come as the driver gives them (timestamps as
 * Date; bigint columns as strings through pg: cast what must be a number).
 */
export interface SqlClient {
  /** One statement on a pooled connection. */
  query: Query;
  /** `work` inside BEGIN … COMMIT on one pooled connection; ROLLBACK when it throws. */
  transaction<T>(work: (query: Query) => Promise<T>): Promise<T>;
  /** Calls `listener` after each statement with its text and duration (the query metrics; tests). */
  onQuery(listener: QueryListener): void;
}

export type QueryListener = (text: string, seconds: number) => void;

/** Runs statements through `run`, timing each for the listeners. */
function observed(run: (statement: Statement) => Promise<unknown[]>, listeners: QueryListener[]): Query {
  return async <R>(statement: Statement) => {
    const started = performance.now();
    const rows = await run(statement);
    for (const listener of listeners) listener(statement.text, (performance.now() - started) / 1000);
    return rows as R[];
  };
}

/** Statements get a server-side prepared name per text (parsed once per connection), up to this many texts. */
const MAX_PREPARED = 500;

type Done = (error: Error | undefined, result: { rows: unknown[] }) => void;

/** pg's pool and its clients both take a query object with a callback. */
interface PgQueryable {
  query(query: pg.Query, done: Done): unknown;
}

interface PgPool extends PgQueryable {
  connect(): Promise<PgQueryable & { query(text: string): Promise<unknown>; release(error?: Error | boolean): void }>;
}

/** Service mode: statements prepared by name on pg's pooled connections. */
export function pgSqlClient(pool: PgPool): SqlClient {
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED) names.set(text, (name = `s${names.size}`));
    return name;
  };
  const listeners: QueryListener[] = [];
  // A query object built from the text: pg copies a config object (descriptor by descriptor) on
  // every query, a tenth of pg's CPU on a router's one-reference _entities.
  const on = (queryable: PgQueryable): Query =>
    observed(
      ({ text, values }) =>
        new Promise((resolve, reject) => {
          const query = new pg.Query(text, values) as pg.Query & { name?: string };
          query.name = nameOf(text);
          queryable.query(query, (error, result) => (error ? reject(error) : resolve(result.rows)));
        }),
      listeners,
    );
  return {
    onQuery: (listener) => void listeners.push(listener),
    query: on(pool),
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const value = await work(on(client));
        await client.query("COMMIT");
        return value;
      } catch (error) {
        // A connection that cannot roll back is not given back to the pool.
        await client.query("ROLLBACK").catch((rollback: Error) => (broken = rollback));
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

interface Lite {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  transaction<T>(work: (tx: { query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>): Promise<T>;
}

/** Embedded mode: PGlite (one connection; its transactions queue). */
export function liteSqlClient(lite: Lite): SqlClient {
  const listeners: QueryListener[] = [];
  return {
    onQuery: (listener) => void listeners.push(listener),
    query: observed(async (statement) => (await lite.query(statement.text, statement.values)).rows, listeners),
    transaction: (work) => lite.transaction((tx) => work(observed(async (statement) => (await tx.query(statement.text, statement.values)).rows, listeners))),
  };
}
