// Federation entity resolution against a baseline measured in the same run (part of npm run bench).
// Starts the real app (service mode, fresh database, 1,000 users) and a bare node:http + pg server
// running the same SQL, loads both with autocannon in turn (BENCH_ROUNDS rounds, default 3) and prints
// the medians of req/s, p50/p99, CPU a request and of the rounds' ratios.
import { randomInt, randomUUID } from "node:crypto";
import { load, type LoadResult } from "./load";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { startBaseline } from "./baseline";
import { percentile } from "./measure";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 16;
const USERS = 1000;

const ENTITIES = "query UserEntities($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName avatarUrl } } }";
const SINGLE = "query User($id: ID!) { user(id: $id) { id displayName avatarUrl } }";

interface Scenario {
  name: string;
  body: string;
  /** The ids the response must list, in order. */
  expected: string[];
}

function pick(ids: string[], n: number): string[] {
  return Array.from({ length: n }, () => ids[randomInt(ids.length)] as string);
}

function scenarios(ids: string[]): Scenario[] {
  const entities = (n: number): Scenario => {
    const wanted = pick(ids, n);
    const representations = wanted.map((id) => ({ __typename: "User", id }));
    return { name: `_entities x${n}`, body: JSON.stringify({ query: ENTITIES, variables: { representations } }), expected: wanted };
  };
  const [one] = pick(ids, 1);
  return [entities(1), entities(10), entities(100), { name: "user(id)", body: JSON.stringify({ query: SINGLE, variables: { id: one } }), expected: [one as string] }];
}

async function check(url: string, scenario: Scenario): Promise<void> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: scenario.body });
  const { data } = (await res.json()) as { data?: { _entities?: { id: string }[]; user?: { id: string } } };
  const got = data?._entities?.map((u) => u.id) ?? (data?.user ? [data.user.id] : []);
  if (JSON.stringify(got) !== JSON.stringify(scenario.expected)) throw new Error(`${url} answered ${scenario.name} wrongly: ${JSON.stringify(data).slice(0, 200)}`);
}

const median = (values: number[]): number => percentile([...values].sort((x, y) => x - y), 50);

/** Each figure's median over the rounds. */
const medianOf = (results: LoadResult[]): Pick<LoadResult, "rps" | "p50" | "p99" | "cpuUsPerRequest"> => ({
  rps: median(results.map((r) => r.rps)),
  p50: median(results.map((r) => r.p50)),
  p99: median(results.map((r) => r.p99)),
  cpuUsPerRequest: median(results.map((r) => r.cpuUsPerRequest)),
});

/** Loads from a child process (see load.ts), so the load generator never shares the server's event loop. */
function loadScenario(url: string, scenario: Scenario, seconds: number): Promise<LoadResult> {
  return load({ url, body: scenario.body, connections: CONNECTIONS, seconds });
}

export async function benchEntities(): Promise<void> {
  const databaseUrl = freshDatabaseUrl("bench");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "warn" });
  const app = await createApp(config, { logger: createLogger({ level: "warn" }), redisPrefix: `bench:${uniqueSuffix()}:` });
  const baseline = await startBaseline(databaseUrl, config.DATABASE_POOL_SIZE).catch(async (error: unknown) => {
    await app.stop();
    throw error;
  });
  try {
    const appUrl = `http://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql`;
    const ids = Array.from({ length: USERS }, () => randomUUID());
    await app.platform.database.prisma.user.createMany({
      data: ids.map((id, i) => ({ id, email: `bench${i}@example.test`, name: `Bench User ${i}`, avatarUrl: `https://cdn.example.test/${i}.png` })),
    });
    const rows: string[] = [];
    for (const scenario of scenarios(ids)) {
      for (const url of [appUrl, baseline.url]) {
        await check(url, scenario);
        await loadScenario(url, scenario, 1); // warm-up, discarded
      }
      // App and baseline in turn, ROUNDS times: each round's ratio compares runs seconds apart.
      const rounds: [LoadResult, LoadResult][] = [];
      for (let round = 0; round < ROUNDS; round += 1) rounds.push([await loadScenario(appUrl, scenario, DURATION_S), await loadScenario(baseline.url, scenario, DURATION_S)]);
      const a = medianOf(rounds.map(([app]) => app));
      const b = medianOf(rounds.map(([, base]) => base));
      const ratio = median(rounds.map(([app, base]) => app.rps / base.rps));
      const cpuRatio = median(rounds.map(([app, base]) => base.cpuUsPerRequest / app.cpuUsPerRequest));
      rows.push(`| ${scenario.name} | ${a.rps.toFixed(0)} | ${a.p50} | ${a.p99} | ${b.rps.toFixed(0)} | ${b.p50} | ${b.p99} | ${ratio.toFixed(2)}x | ${a.cpuUsPerRequest.toFixed(0)} / ${b.cpuUsPerRequest.toFixed(0)} µs | ${cpuRatio.toFixed(2)}x |`);
      process.stdout.write(`${rows[rows.length - 1]}\n`);
    }
    process.stdout.write(
      [
        "",
        `Node ${process.version}, ${CONNECTIONS} connections; app and baseline in turn, ${ROUNDS} rounds of ${DURATION_S} s each after 1 s warm-up: medians of the rounds' figures, and the median of the rounds' ratios; app and baseline in the same process, same database; autocannon in a child process.`,
        "CPU a request: this process's CPU per request while the app (or the baseline) was loaded; its ratio is baseline/app, read like the req/s ratio (how much of the baseline's throughput the app's own cost allows), and moves less with the machine's neighbours.",
        "| scenario | app req/s | app p50 ms | app p99 ms | baseline req/s | baseline p50 ms | baseline p99 ms | app/baseline | CPU a request, app / baseline | CPU ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ...rows,
        "",
      ].join("\n"),
    );
  } finally {
    await baseline.close();
    await app.stop();
    await dropDatabase(databaseUrl);
  }
}
