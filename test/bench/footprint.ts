// Footprint (part of npm run bench): the built service started by `npm start`'s command (node on
// dist/, no TypeScript loader) in service mode on a freshly migrated database: the time from spawn
// to /health/ready answering 200, its RSS once settled, right after a short load of `me` and
// `_entities`, and once settled again. Beside it, in the same run, the floor: a bare node:http + pg
// + ioredis process (connected pool and Redis) measured the same way.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import bcrypt from "bcrypt";
import pg from "pg";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { load, type LoadSpec } from "./load";
import { deleteKeys } from "./subscriptions";

const ROOT = path.resolve(__dirname, "../..");
/** RSS is read this long into each idle spell, and at its end (V8's memory reducer shrinks the heap only after some idle time). */
const FIRST_LOOK_MS = 5000;
const SETTLE_MS = Number(process.env.BENCH_FOOTPRINT_SETTLE_S ?? 45) * 1000;
const LOAD_S = Number(process.env.BENCH_FOOTPRINT_LOAD_S ?? 5);
const READY_TIMEOUT_MS = 60_000;
const GOAL_RSS_MB = 150;
const GOAL_READY_S = 3;
const PASSWORD = "Correct-Horse-42!";
/** The service's default cost (its login checks the password at it). */
const BCRYPT_COST = 12;
const CONNECTIONS = 8;

const ME = "query Me { me { id email emailVerified status name displayName avatarUrl phone locale timezone preferredCurrency mfaEnabled roles createdAt updatedAt } }";
const ENTITIES = "query UserEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName avatarUrl } } }";
const LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { ... on AuthPayload { accessToken } } }";

/**
 * The floor, run by `node -e` (plain JavaScript, as the service runs from dist/): node:http, a pg
 * pool and an ioredis client, both connected before it listens; /health/ready pings both, and
 * every POST reads the users it names (the representations' ids, else the one user in argv) with
 * one Redis round trip, as the service's `me` checks its session's revocation.
 */
const BASELINE_SOURCE = `
const http = require("node:http");
const pg = require("pg");
const { Redis } = require("ioredis");
const [databaseUrl, redisUrl, port, userId] = process.argv.slice(1);
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
const redis = new Redis(redisUrl);
const json = (res, status, body) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
const server = http.createServer((req, res) => {
  let raw = "";
  req.on("data", (chunk) => (raw += chunk));
  req.on("end", async () => {
    try {
      if (req.url === "/health/ready") {
        await Promise.all([pool.query("SELECT 1"), redis.ping()]);
        return json(res, 200, { status: "ok" });
      }
      const ids = JSON.parse(raw).variables?.representations?.map((r) => r.id) ?? [userId];
      await redis.get("revoked:" + ids[0]);
      const { rows } = await pool.query("SELECT id, email, name, avatar_url FROM users WHERE id = ANY($1::uuid[])", [ids]);
      json(res, 200, { data: { users: rows } });
    } catch (error) {
      json(res, 500, { error: String(error) });
    }
  });
});
Promise.all([pool.query("SELECT 1"), redis.ping()]).then(() => server.listen(Number(port), "127.0.0.1"));
process.on("SIGTERM", () => server.close(() => Promise.all([pool.end(), redis.quit()]).then(() => process.exit(0))));
`;

interface Memory {
  rssMb: number;
  anonMb: number;
  threads: number;
}

/** VmRSS, RssAnon and Threads of process `pid`, from /proc. */
function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return { rssMb: field("VmRSS") / 1024, anonMb: field("RssAnon") / 1024, threads: field("Threads") };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with the milliseconds from `since` to the first 200 from `url`; rejects if `child` exits first. */
async function readyAfter(child: ChildProcess, url: string, since: number): Promise<number> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the process exited (${child.signalCode ?? child.exitCode}) before ${url} answered 200`);
    if (performance.now() - since > READY_TIMEOUT_MS) throw new Error(`${url} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`);
    const status = await fetch(url).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return performance.now() - since;
    await sleep(10);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}

/** An idle spell: RSS after FIRST_LOOK_MS and at its end. */
interface Idle {
  early: Memory;
  settled: Memory;
}

interface Figures {
  readyMs: number;
  afterReady: Idle;
  loaded: Memory;
  afterLoad: Idle;
  requests: number;
}

async function idle(pid: number): Promise<Idle> {
  await sleep(FIRST_LOOK_MS);
  const early = memoryOf(pid);
  await sleep(SETTLE_MS - FIRST_LOOK_MS);
  return { early, settled: memoryOf(pid) };
}

/**
 * Spawns a server and measures it: ready time, RSS while idle, right after the loads that
 * `prepare` returns (called after the first idle spell: a login is part of the load), and while idle again.
 */
async function measure(spawnIt: () => ChildProcess, port: number, prepare: () => Promise<LoadSpec[]>): Promise<Figures> {
  const started = performance.now();
  const child = spawnIt();
  try {
    const pid = child.pid as number;
    const readyMs = await readyAfter(child, `http://127.0.0.1:${port}/health/ready`, started);
    // `sh -c "exec node …"` is node itself: what is measured must be node's memory, not a shell's.
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("node\0")) throw new Error(`process ${pid} is not node`);
    const afterReady = await idle(pid);
    let requests = 0;
    for (const spec of await prepare()) requests += (await load(spec)).requests;
    const loaded = memoryOf(pid);
    return { readyMs, afterReady, loaded, afterLoad: await idle(pid), requests };
  } finally {
    await stop(child);
  }
}

async function migrate(env: NodeJS.ProcessEnv): Promise<void> {
  await promisify(execFile)("node", ["dist/cli/migrate.js"], { cwd: ROOT, env });
}

/** A user with a password, straight into the database. */
async function createUser(databaseUrl: string, email: string): Promise<string> {
  const userId = randomUUID();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("INSERT INTO users (id, email, password_hash, status, email_verified_at, name, updated_at) VALUES ($1, $2, $3, 'ACTIVE', now(), 'Footprint', now())", [
      userId,
      email,
      await bcrypt.hash(PASSWORD, BCRYPT_COST),
    ]);
  } finally {
    await client.end();
  }
  return userId;
}

async function login(graphqlUrl: string, headers: Record<string, string>, email: string): Promise<string> {
  const res = await fetch(graphqlUrl, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query: LOGIN, variables: { input: { email, password: PASSWORD } } }) });
  const accessToken = ((await res.json()) as { data?: { login?: { accessToken?: string } } }).data?.login?.accessToken;
  if (!accessToken) throw new Error("the footprint user could not log in");
  return accessToken;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const verdict = (met: boolean) => (met ? "met" : "NOT met");

export async function benchFootprint(): Promise<void> {
  process.stdout.write("building dist/ (npm run -s build)…\n");
  await promisify(execFile)("npm", ["run", "-s", "build"], { cwd: ROOT });
  const startCommand = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  const databaseUrl = freshDatabaseUrl("benchfoot");
  const redisPrefix = `bench:${uniqueSuffix()}:`;
  const queuePrefix = `bench-${uniqueSuffix()}`;
  const port = await freePort();
  // Production, as the image runs it; what production requires besides is given for this run only.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    QUEUE_PREFIX: queuePrefix,
    REDIS_REQUIRE_DURABILITY: "false",
    PORT: String(port),
    HOST: "127.0.0.1",
    METRICS_PORT: "0",
    LOG_LEVEL: "warn",
    PUBLIC_URL: "https://id.bench.test",
    ROUTER_SECRET: randomBytes(32).toString("base64"),
    AUDIT_SIGNING_KEY: randomBytes(32).toString("base64"),
    KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  };
  const routerHeader = { "x-router-secret": env.ROUTER_SECRET as string };
  let service: Figures;
  let baseline: Figures;
  try {
    await migrate(env);
    const email = `footprint-${uniqueSuffix()}@example.test`;
    const userId = await createUser(databaseUrl, email);
    const loads = (url: string, accessToken: string): LoadSpec[] => [
      { url, connections: CONNECTIONS, seconds: LOAD_S, body: JSON.stringify({ query: ME }), headers: { ...routerHeader, authorization: `Bearer ${accessToken}` } },
      { url, connections: CONNECTIONS, seconds: LOAD_S, body: JSON.stringify({ query: ENTITIES, variables: { representations: Array.from({ length: 10 }, () => ({ __typename: "User", id: userId })) } }), headers: routerHeader },
    ];
    const graphqlUrl = `http://127.0.0.1:${port}/graphql`;
    service = await measure(() => spawn("sh", ["-c", startCommand], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] }), port, async () => loads(graphqlUrl, await login(graphqlUrl, routerHeader, email)));
    baseline = await measure(() => spawn("node", ["-e", BASELINE_SOURCE, databaseUrl, REDIS_URL, String(port), userId], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] }), port, async () => loads(`http://127.0.0.1:${port}/`, "unused"));
  } finally {
    await dropDatabase(databaseUrl);
    await deleteKeys(`${redisPrefix}*`);
    await deleteKeys(`${queuePrefix}:*`);
  }
  const rssRow = (label: string, of: (f: Figures) => number, goal: boolean) => {
    const [app, base] = [of(service), of(baseline)];
    return [label, `${app.toFixed(0)} MB`, `${base.toFixed(0)} MB`, ratio(app, base), goal ? `< ${GOAL_RSS_MB} MB: ${verdict(app < GOAL_RSS_MB)}` : ""];
  };
  const rows = [
    ["ready: spawn → /health/ready 200 (migrated database)", `${(service.readyMs / 1000).toFixed(2)} s`, `${(baseline.readyMs / 1000).toFixed(2)} s`, ratio(service.readyMs, baseline.readyMs), `< ${GOAL_READY_S} s: ${verdict(service.readyMs < GOAL_READY_S * 1000)}`],
    rssRow(`RSS ${FIRST_LOOK_MS / 1000} s after ready`, (f) => f.afterReady.early.rssMb, false),
    rssRow(`idle RSS, ${SETTLE_MS / 1000} s after ready`, (f) => f.afterReady.settled.rssMb, true),
    rssRow(`RSS right after the load (${service.requests} requests; baseline ${baseline.requests})`, (f) => f.loaded.rssMb, false),
    rssRow(`RSS ${FIRST_LOOK_MS / 1000} s after the load`, (f) => f.afterLoad.early.rssMb, false),
    rssRow(`idle RSS, ${SETTLE_MS / 1000} s after the load`, (f) => f.afterLoad.settled.rssMb, true),
    rssRow("of which anonymous (RssAnon)", (f) => f.afterLoad.settled.anonMb, false),
    ["threads, idle after the load", String(service.afterLoad.settled.threads), String(baseline.afterLoad.settled.threads), "", ""],
  ];
  process.stdout.write(
    [
      "",
      `Node ${process.version}; service: \`${startCommand}\` (NODE_ENV=production, service mode, LOG_LEVEL=warn, defaults otherwise); baseline: node:http + pg + ioredis (node -e). Load: \`me\` then \`_entities\` x10, ${LOAD_S} s each, ${CONNECTIONS} connections (autocannon in a child process). RSS from /proc/<pid>/status.`,
      "| measure | service | baseline | ratio | goal |",
      "| --- | --- | --- | --- | --- |",
      ...rows.map((r) => `| ${r.join(" | ")} |`),
      "",
    ].join("\n"),
  );
}
