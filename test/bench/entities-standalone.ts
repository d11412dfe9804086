import "reflect-metadata";
// Federation entity resolution of the real app against a floor measured in the same run: a
// self-contained variant of entities.ts + baseline.ts. `benchEntities` has the dispatcher's signature
// (run.ts); run alone with `node -r @swc-node/register test/bench/entities-standalone.ts`.
//
// Creates a fresh database, starts the app in service mode and, in this same process, a baseline
// server (bare node:http + pg running the app's SQL, no GraphQL), seeds 1,000 users, checks one full
// response of each, loads both with autocannon (every response compared with the checked one) and
// prints a markdown table on stdout (progress goes to stderr). The database is dropped at the end.
// BENCH_DURATION_S sets the length of each measured run (default 5 s; each follows a 1 s warm-up).
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { isDeepStrictEqual } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";

const PG_SERVER_URL = "postgresql://postgres@127.0.0.1:5432";
const REDIS_URL = "redis://127.0.0.1:6379";
const USERS = 1000;
const CONNECTIONS = 16;
const WARMUP_S = 1;

const ENTITIES_QUERY = "query UserEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName avatarUrl } } }";
const USER_QUERY = "query User($id: ID!) { user(id: $id) { id displayName avatarUrl } }";
/** What the app's UserService asks PostgreSQL for a batch of references. */
const BASELINE_SQL = "SELECT id, name, avatar_url FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL";

interface PublicUser {
  id: string;
  displayName: string;
  avatarUrl: string | null;
}

type ResponseData = { _entities: (PublicUser | null)[] } | { user: PublicUser | null };

interface Scenario {
  name: string;
  /** The POST body, the same for every request of the scenario. */
  body: string;
  /** The `data` both servers must answer with. */
  expected: ResponseData;
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
}

interface Target {
  label: string;
  url: string;
}

function durationFromEnv(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`BENCH_DURATION_S must be a whole number of seconds >= 1 (got "${raw}")`);
  return seconds;
}

const log = (message: string) => process.stderr.write(`${message}\n`);

// ---------------------------------------------------------------------------------------------
// Database

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${PG_SERVER_URL}/postgres` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `name` is ours (identity_bench_<hex>), so quoting it is enough. */
async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [name]);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

interface Seeded {
  ids: string[];
  byId: Map<string, PublicUser>;
}

async function seedUsers(app: App): Promise<Seeded> {
  const rows = Array.from({ length: USERS }, (_, i) => ({
    id: randomUUID(),
    email: `bench-${i}@example.test`,
    name: `Bench User ${i}`,
    avatarUrl: `https://cdn.example.test/avatars/${i}.png`,
  }));
  const { count } = await app.platform.database.prisma.user.createMany({ data: rows });
  if (count !== USERS) throw new Error(`seeded ${count} users, expected ${USERS}`);
  return { ids: rows.map((r) => r.id), byId: new Map(rows.map((r) => [r.id, { id: r.id, displayName: r.name, avatarUrl: r.avatarUrl }])) };
}

// ---------------------------------------------------------------------------------------------
// Baseline: the same request and response, the same SQL, no GraphQL

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function startBaseline(databaseUrl: string, poolSize: number): Promise<Target & { close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  pool.on("error", (error) => log(`baseline: idle PostgreSQL connection failed: ${error.message}`));
  const answer = async (req: IncomingMessage): Promise<ResponseData> => {
    const { variables = {} } = JSON.parse(await readBody(req)) as { variables?: { representations?: { id: string }[]; id?: string } };
    const ids = variables.representations?.map((r) => r.id) ?? [variables.id ?? ""];
    const { rows } = await pool.query<{ id: string; name: string | null; avatar_url: string | null }>(BASELINE_SQL, [ids]);
    const byId = new Map(rows.map((r) => [r.id, { id: r.id, displayName: r.name ?? "Member", avatarUrl: r.avatar_url }]));
    const users = ids.map((id) => byId.get(id) ?? null);
    return variables.representations ? { _entities: users } : { user: users[0] ?? null };
  };
  const server: Server = createServer((req, res) => {
    answer(req).then(
      (data) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data })),
      (error: unknown) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: String(error) }] })),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    label: "baseline",
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      await pool.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios and load

/** `n` distinct ids, uniformly at random. */
function sample(ids: readonly string[], n: number): string[] {
  const pool = [...ids];
  for (let i = 0; i < n; i++) {
    const j = i + randomInt(pool.length - i);
    [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
  }
  return pool.slice(0, n);
}

function scenarios({ ids, byId }: Seeded): Scenario[] {
  const user = (id: string) => byId.get(id) as PublicUser;
  const entities = (n: number): Scenario => {
    const wanted = sample(ids, n);
    const representations = wanted.map((id) => ({ __typename: "User", id }));
    return { name: `_entities x${n}`, body: JSON.stringify({ query: ENTITIES_QUERY, variables: { representations } }), expected: { _entities: wanted.map(user) } };
  };
  const [id] = sample(ids, 1) as [string];
  return [entities(1), entities(10), entities(100), { name: "user(id)", body: JSON.stringify({ query: USER_QUERY, variables: { id } }), expected: { user: user(id) } }];
}

const HEADERS = { "content-type": "application/json" };

/** One request, checked in full (ids in order, every field); returns the exact body to expect under load. */
async function verify(target: Target, scenario: Scenario): Promise<string> {
  const res = await fetch(target.url, { method: "POST", headers: HEADERS, body: scenario.body });
  const text = await res.text();
  let body: { data?: unknown; errors?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (res.status !== 200 || body?.errors !== undefined || !isDeepStrictEqual(body?.data, scenario.expected)) {
    throw new Error(`${target.label} answered ${scenario.name} wrongly (HTTP ${res.status}): ${text.slice(0, 300)}`);
  }
  return text;
}

let running: autocannon.Instance | undefined;
let interrupted = false;

function load(target: Target, scenario: Scenario, expectBody: string, seconds: number): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const options = { url: target.url, method: "POST" as const, headers: HEADERS, body: scenario.body, expectBody, connections: CONNECTIONS, duration: seconds };
    running = autocannon(options, (error, result) => {
      running = undefined;
      if (error) return reject(error instanceof Error ? error : new Error(String(error)));
      if (interrupted) return reject(new Error("interrupted"));
      const failures = result.errors + result.timeouts + result.non2xx + result.mismatches;
      if (failures > 0 || result.requests.total === 0) {
        return reject(new Error(`${target.label} ${scenario.name}: ${result.requests.total} requests, ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx, ${result.mismatches} unexpected bodies`));
      }
      resolve({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 });
    });
  });
}

async function measure(target: Target, scenario: Scenario, seconds: number): Promise<Figures> {
  if (interrupted) throw new Error("interrupted");
  const expectBody = await verify(target, scenario);
  await load(target, scenario, expectBody, WARMUP_S); // warm-up, discarded
  const figures = await load(target, scenario, expectBody, seconds);
  log(`  ${target.label.padEnd(8)} ${scenario.name.padEnd(14)} ${figures.rps.toFixed(0).padStart(6)} req/s  p50 ${figures.p50} ms  p99 ${figures.p99} ms`);
  return figures;
}

const ms = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

function row(scenario: string, app: Figures, baseline: Figures): string {
  const cells = [scenario, app.rps.toFixed(0), ms(app.p50), ms(app.p99), baseline.rps.toFixed(0), ms(baseline.p50), ms(baseline.p99), `${(app.rps / baseline.rps).toFixed(2)}x`];
  return `| ${cells.join(" | ")} |`;
}

// ---------------------------------------------------------------------------------------------

/** Everything between creating the database and printing the table; `cleanups` collects what to close. */
async function run(databaseName: string, suffix: string, seconds: number, cleanups: (() => Promise<void>)[]): Promise<void> {
  const databaseUrl = `${PG_SERVER_URL}/${databaseName}`;
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "warn" });
  log(`creating database ${databaseName} and starting the app`);
  const app = await createApp(config, { logger: createLogger({ level: "warn" }), redisPrefix: `bench:${suffix}:` });
  cleanups.push(() => app.stop());
  const appTarget: Target = { label: "app", url: `http://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql` };
  const baseline = await startBaseline(databaseUrl, config.DATABASE_POOL_SIZE);
  cleanups.push(() => baseline.close());
  const seeded = await seedUsers(app);

  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `Node ${process.version} on ${os.platform()} ${os.arch()} (${os.availableParallelism()} CPUs); ${USERS.toLocaleString("en")} users, ${CONNECTIONS} connections, ` +
      `${seconds} s per run after a ${WARMUP_S} s warm-up. App and baseline ran in the same process on the same machine ` +
      `(with autocannon and PostgreSQL), against the same database, pool size ${config.DATABASE_POOL_SIZE}.`,
  );
  out("");
  out("| scenario | app req/s | app p50 ms | app p99 ms | baseline req/s | baseline p50 ms | baseline p99 ms | app/baseline |");
  out("| --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const scenario of scenarios(seeded)) {
    const appFigures = await measure(appTarget, scenario, seconds);
    const floorFigures = await measure(baseline, scenario, seconds);
    out(row(scenario.name, appFigures, floorFigures));
  }
}

export async function benchEntities(): Promise<void> {
  const seconds = durationFromEnv(process.env.BENCH_DURATION_S, 5);
  const suffix = randomBytes(6).toString("hex");
  const databaseName = `identity_bench_${suffix}`;
  const cleanups: (() => Promise<void>)[] = [];
  const onInterrupt = () => {
    log("interrupted: stopping and cleaning up (Ctrl-C again to kill)");
    interrupted = true;
    running?.stop();
  };
  process.once("SIGINT", onInterrupt);
  let failure: { error: unknown } | undefined;
  try {
    await run(databaseName, suffix, seconds, cleanups);
  } catch (error) {
    failure = { error };
  }
  process.off("SIGINT", onInterrupt);
  const problems: unknown[] = [];
  for (const cleanup of [...cleanups.reverse(), () => dropDatabase(databaseName)]) await cleanup().catch((error: unknown) => problems.push(error));
  const cleanupMessage = `clean-up failed: ${problems.map((p) => (p instanceof Error ? p.message : String(p))).join("; ")}`;
  if (failure) {
    if (problems.length > 0) log(cleanupMessage);
    throw failure.error;
  }
  if (problems.length > 0) throw new AggregateError(problems, cleanupMessage);
}

if (require.main === module) {
  benchEntities()
    .then(
      () => 0,
      (error: unknown) => {
        log(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
        return 1;
      },
    )
    .then((code) => {
      process.exitCode = code;
      // Everything is closed by now; should a handle linger anyway, do not hang on it.
      setTimeout(() => {
        log("open handles remain after clean-up; exiting anyway");
        process.exit(code);
      }, 5000).unref();
    });
}
