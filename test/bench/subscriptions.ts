// Live KYC status (part of npm run bench): BENCH_SUB_CONNECTIONS sockets (default 10,000) over
// BENCH_SUB_USERS users (default 1,000), each subscribed to verificationStatusChanged on the real app
// (service mode: PostgreSQL, Redis pub/sub), held by helper processes; then BENCH_SUB_RATE status
// changes a second (default 1,000) for BENCH_SUB_SECONDS (default 10), each a committed unit of work
// publishing kyc.status_changed, timed from commit to arrival in the client. Beside it, in the same
// run, the same clients on a bare node:http + ws server fed by Redis pub/sub directly (see
// subscription-baseline.ts). Prints held connections, memory per connection, delivery and latency.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { Redis } from "ioredis";
import { createApp, type App } from "../../src/app";
import { loadConfig } from "../../src/config";
import { kycTopic } from "../../src/modules/kyc/kyc.resolver";
import { pubSubPrefix } from "../../src/platform/pubsub/pubsub";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { memoryAfterGc, openFilesLimit, pace, percentile, wallClockMs, watchLoadCost, type LoadCost } from "./measure";
import { BareSubscriptionServer, type Published } from "./subscription-baseline";
import { SubscriptionClients, type ClientStatus, type SocketSpec } from "./subscription-clients";

const CONNECTIONS = Number(process.env.BENCH_SUB_CONNECTIONS ?? 10_000);
const USERS = Math.min(CONNECTIONS, Number(process.env.BENCH_SUB_USERS ?? 1_000));
const RATE = Number(process.env.BENCH_SUB_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_SUB_SECONDS ?? 10);
const CHANGES = Math.round(RATE * SECONDS);
/** The relay's polling fallback (a commit wakes it at once regardless): BENCH_SUB_POLL_MS, default 20. */
const POLL_MS = process.env.BENCH_SUB_POLL_MS ?? "20";
/** The whole benchmark, both servers; past it everything is torn down and the bench fails. */
const DEADLINE_S = Number(process.env.BENCH_SUB_TIMEOUT_S ?? 900);
/** Handshakes under way at once per helper process (well under the listen backlog of 511). */
const HANDSHAKES_IN_FLIGHT = 50;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Units of work in flight at once (the database pool has 10 connections). */
const COMMITS_IN_FLIGHT = 16;
/** How long nothing may arrive before the messages still missing are counted lost. */
const QUIET_MS = 15_000;
/** How long the held sockets are watched with nothing sent (keep-alive pings and polling only). */
const IDLE_MS = 3_000;
/** Sockets kept aside per process for everything else (database, Redis, IPC, files). */
const SPARE_FILES = 1_024;

const QUERY = "subscription { verificationStatusChanged { verificationId userId status reason occurredAt } }";

/** A server under test, as the measure drives it. */
interface Target {
  url: string;
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Resolves once nothing is left in flight in the server (the app: its outbox is delivered). */
  settle(): Promise<void>;
  /** One status change for each of these users (warm-up: it tells which subscriptions run). */
  changeEach(users: number[]): Promise<void>;
  /** What the server spends holding the sockets, watched for `ms` with no change sent. */
  idle(ms: number): Promise<LoadCost>;
  /** The measured load: `total` changes at `perSecond`, round robin over the users. */
  load(total: number, perSecond: number): Promise<Published>;
  /** The app only: the same load published straight on its PubSub, without the unit of work. */
  loadOnPubSub?(total: number, perSecond: number): Promise<Published>;
  /** What the server itself saw of the load, once it is delivered (lines for the report). */
  diagnose?(): Promise<string[]>;
}

/** A load and what the clients received of it. */
interface Delivery {
  published: Published;
  /** Messages due: each change, once per subscribed socket of its user. */
  expected: number;
  delivered: number;
  /** Arrival minus send time (the app: commit), ascending. */
  latencies: number[];
}

interface Figures {
  /** Sockets acknowledged, subscribed (a warm-up change arrived) and open when the load began. */
  held: number;
  failures: Record<string, number>;
  connectSeconds: number;
  rssPerConnection: number;
  heapPerConnection: number;
  /** The server's cost holding the sockets with nothing sent. */
  idle: LoadCost;
  load: Delivery;
  pubSub?: Delivery;
  notes: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items`, `inFlight` at once. */
async function eachLimited<T>(items: readonly T[], inFlight: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i] as T, i);
      }
    }),
  );
}

/** Tasks run in reverse order of registration, each at most once: in the normal flow as a phase ends, and all that remain at the end. */
class Teardown {
  private readonly tasks: { name: string; run: () => Promise<void> }[] = [];

  add(name: string, task: () => Promise<void> | void): () => Promise<void> {
    let done: Promise<void> | undefined;
    const run = () => (done ??= Promise.resolve().then(task));
    this.tasks.push({ name, run });
    return run;
  }

  /** Runs what remains; failures are reported, not thrown, so that every task gets its turn. */
  async runAll(): Promise<void> {
    for (const { name, run } of this.tasks.reverse()) {
      await run().catch((error: unknown) => process.stderr.write(`subscriptions bench: ${name} failed: ${error instanceof Error ? error.message : String(error)}\n`));
    }
  }
}

/** Every key of this run (queues, pub/sub, rate limits) is removed from the shared Redis (the footprint and soak benches use it too). */
export async function deleteKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * Sends a change to every user whose sockets have not all received one, and waits while they keep
 * arriving; again for those still waiting (a subscription that was not running yet missed it), at
 * most 5 rounds. Its status tells which sockets are subscribed.
 */
async function warmUp(target: Target, clients: SubscriptionClients): Promise<ClientStatus> {
  for (let round = 0; round < 5; round += 1) {
    let { waitingUsers } = await clients.status();
    if (waitingUsers.length === 0) break;
    await target.changeEach(waitingUsers);
    let fewest = Number.POSITIVE_INFINITY;
    let progressAt = performance.now();
    while (waitingUsers.length > 0 && performance.now() - progressAt < 3_000) {
      await sleep(100);
      ({ waitingUsers } = await clients.status());
      if (waitingUsers.length < fewest) [fewest, progressAt] = [waitingUsers.length, performance.now()];
    }
  }
  return clients.status(true);
}

/**
 * Waits until `expected` messages arrived, or none arrived for QUIET_MS (a server that is behind
 * still delivers in bursts: its event loop stalls for seconds at a time, and so does a loaded machine).
 */
async function deliveries(clients: SubscriptionClients, expected: number): Promise<void> {
  let last = -1;
  let quietSince = performance.now();
  for (;;) {
    const { received } = await clients.status();
    if (received >= expected) return;
    if (received !== last) [last, quietSince] = [received, performance.now()];
    else if (performance.now() - quietSince > QUIET_MS) return;
    await sleep(100);
  }
}

/** Runs one load and matches what every socket received to when each change was sent. */
async function deliver(clients: SubscriptionClients, heldOf: readonly number[], send: (total: number, perSecond: number) => Promise<Published>): Promise<Delivery> {
  const published = await send(CHANGES, RATE);
  let expected = 0;
  for (let i = 0; i < published.verificationIds.length; i += 1) expected += heldOf[i % USERS] ?? 0;
  await deliveries(clients, expected);
  const receipts = await clients.take();
  const sentAt = new Map(published.verificationIds.map((id, i) => [id, published.times[i] as number]));
  const latencies: number[] = [];
  receipts.verificationIds.forEach((id, i) => {
    const sent = sentAt.get(id);
    if (sent !== undefined) latencies.push((receipts.times[i] as number) - sent);
  });
  latencies.sort((a, b) => a - b);
  return { published, expected, delivered: latencies.length, latencies };
}

/** Connects the sockets, warms them up, measures memory, idle cost, then the loads. Leaves the clients disconnected. */
async function measure(target: Target, clients: SubscriptionClients, sockets: SocketSpec[]): Promise<Figures> {
  await target.settle();
  const before = await target.memory();
  const started = performance.now();
  await clients.connect(target.url, QUERY, sockets, HANDSHAKES_IN_FLIGHT, HANDSHAKE_TIMEOUT_MS);
  const connectSeconds = (performance.now() - started) / 1000;
  const subscribed = await warmUp(target, clients);
  await target.settle();
  const after = await target.memory();
  await clients.take(); // the warm-up's messages are not measured
  const idle = await target.idle(IDLE_MS);
  const heldOf = new Array<number>(USERS).fill(0);
  for (const user of subscribed.subscribedUsers ?? []) heldOf[user] = (heldOf[user] ?? 0) + 1;
  const held = subscribed.subscribed;

  // The part after the relay first, while the outbox is empty; then the whole path.
  const pubSub = target.loadOnPubSub ? await deliver(clients, heldOf, target.loadOnPubSub) : undefined;
  const load = await deliver(clients, heldOf, (total, perSecond) => target.load(total, perSecond));
  const notes = (await target.diagnose?.()) ?? [];
  const end = await clients.status();
  await clients.disconnect();
  return {
    held,
    failures: { ...end.failures, "acknowledged, but no warm-up change arrived": subscribed.open - subscribed.subscribed },
    connectSeconds,
    idle,
    rssPerConnection: (after.rss - before.rss) / Math.max(1, held),
    heapPerConnection: (after.heapUsed - before.heapUsed) / Math.max(1, held),
    load,
    ...(pubSub ? { pubSub } : {}),
    notes,
  };
}

/** The app's users, each with a session started through the sessions module (no password hashing). */
async function signIn(app: App): Promise<{ ids: string[]; tokens: string[] }> {
  const prisma = app.platform.database.prisma;
  const suffix = uniqueSuffix();
  const ids = Array.from({ length: USERS }, () => randomUUID());
  await prisma.user.createMany({ data: ids.map((id, i) => ({ id, email: `sub${i}-${suffix}@example.test`, status: "ACTIVE" as const, emailVerifiedAt: new Date() })) });
  const byId = new Map((await prisma.user.findMany({ where: { id: { in: ids } } })).map((user) => [user.id, user]));
  const tokens: string[] = new Array<string>(USERS);
  const device = { name: "subscriptions bench", fingerprint: null, rememberMe: false };
  await eachLimited(ids, COMMITS_IN_FLIGHT, async (id, i) => {
    const started = await app.modules.sessions.api.start(byId.get(id) as never, device, { actor: { type: "anonymous", id: null }, ipAddress: "127.0.0.1", userAgent: "bench" }, { amr: ["pwd"] });
    if (!("accessToken" in started)) throw new Error("sessions.start answered a challenge instead of tokens");
    tokens[i] = started.accessToken;
  });
  return { ids, tokens };
}

/**
 * A status change as the KYC module commits one (PENDING → IN_REVIEW, the user's submission): the
 * event in the outbox, and the live update announced once the unit of work has committed (as
 * KycService does through its `changed` dependency).
 */
const commitChange = (app: App, userId: string, verificationId: string = randomUUID()) =>
  app.platform.events.unitOfWork.run({ actor: { type: "user", id: userId } }, async (scope) => {
    scope.publish("kyc.status_changed", userId, { verificationId, level: "BASIC", provider: "SANDBOX", from: "PENDING", to: "IN_REVIEW", reason: null, decidedBy: "user", reviewerId: null });
    scope.afterCommit(() => app.platform.pubSub.publish(kycTopic(userId), { verificationId, userId, status: "IN_REVIEW", reason: null, occurredAt: new Date() }));
  });

/**
 * The relay's side of the load, from the outbox rows of the measured changes: a batch is the rows
 * one relay transaction claimed (they share its `now()` as published_at), so the gap between
 * batches is how long one took while there was a backlog.
 */
async function relayNotes(app: App, since: Date): Promise<string[]> {
  const [batches] = await app.platform.database.prisma.$queryRaw<{ batches: number; mean: number; largest: number; span: number }[]>`
    WITH b AS (SELECT published_at, count(*) AS n FROM outbox_events WHERE name = 'kyc.status_changed' AND created_at >= ${since} GROUP BY published_at)
    SELECT count(*)::int AS batches, avg(n)::float AS mean, max(n)::int AS largest, extract(epoch FROM max(published_at) - min(published_at))::float AS span FROM b`;
  const [lag] = await app.platform.database.prisma.$queryRaw<{ p50: number; p99: number }[]>`
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))::float * 1000 AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))::float * 1000 AS p99
    FROM outbox_events WHERE destination = 'user-events' AND name = 'kyc.status_changed' AND created_at >= ${since}`;
  if (!batches?.batches || lag?.p50 === null || lag?.p50 === undefined) return [];
  const gap = batches.batches > 1 ? (batches.span * 1000) / (batches.batches - 1) : 0;
  return [
    `App relay during the load (user-events, no longer on the live path): ${batches.batches} batches of kyc.status_changed rows, ${batches.mean.toFixed(1)} rows on average, ${batches.largest} at most, one every ${gap.toFixed(1)} ms; commit→claimed p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms.`,
  ];
}

/** Paces `send(i, verificationId)`; each one's time is taken once it resolves (a commit: when it is visible to others). */
async function timedLoad(total: number, perSecond: number, maxInFlight: number, send: (i: number, verificationId: string) => Promise<void>): Promise<Published> {
  const verificationIds: string[] = [];
  const times: number[] = [];
  const stop = watchLoadCost();
  const seconds = await pace(total, perSecond, maxInFlight, async (i) => {
    const verificationId = randomUUID();
    await send(i, verificationId);
    times.push(wallClockMs());
    verificationIds.push(verificationId);
  });
  return { verificationIds, times, seconds, cost: stop() };
}

function appTarget(app: App, url: string, userIds: string[]): Target {
  const prisma = app.platform.database.prisma;
  let loadStarted = new Date();
  // The main Redis connection (PUBLISH goes there) is dropped and made again when a command waits
  // past REDIS_COMMAND_TIMEOUT_MS, as it does while the event loop stalls; what is published on it
  // meanwhile fails, and pub/sub's best effort drops it.
  let reconnects = 0;
  app.platform.redis?.on("reconnecting", () => (reconnects += 1));
  const marks: number[] = [];
  return {
    url,
    memory: async () => memoryAfterGc(),
    async idle(ms) {
      const stop = watchLoadCost();
      await sleep(ms);
      return stop();
    },
    async settle() {
      const until = performance.now() + 120_000;
      for (;;) {
        const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL AND parked_at IS NULL`;
        if (row?.n === 0) return;
        if (performance.now() > until) throw new Error(`the outbox still holds ${row?.n} undelivered messages after 120 s`);
        await sleep(100);
      }
    },
    changeEach: (users) => eachLimited(users, COMMITS_IN_FLIGHT, (user) => commitChange(app, userIds[user] as string)),
    load(total, perSecond) {
      loadStarted = new Date();
      marks.push(reconnects);
      return timedLoad(total, perSecond, COMMITS_IN_FLIGHT, (i, verificationId) => commitChange(app, userIds[i % userIds.length] as string, verificationId));
    },
    loadOnPubSub(total, perSecond) {
      marks.push(reconnects);
      return timedLoad(total, perSecond, Number.POSITIVE_INFINITY, async (i, verificationId) => {
        const userId = userIds[i % userIds.length] as string;
        app.platform.pubSub.publish(kycTopic(userId), { verificationId, userId, status: "IN_REVIEW", reason: null, occurredAt: new Date() });
      });
    },
    async diagnose() {
      const [onPubSub = 0, onCommit = reconnects] = marks;
      return [
        ...(await relayNotes(app, loadStarted)),
        `App main Redis connection (PUBLISH) dropped after a command timed out (REDIS_COMMAND_TIMEOUT_MS=${app.config.REDIS_COMMAND_TIMEOUT_MS}): ${onCommit - onPubSub} times from the start of the PubSub.publish load to the commit load, ${reconnects - onCommit} times from then to its end.`,
      ];
    },
  };
}

/** Socket s belongs to user s mod USERS. */
const socketsOf = (tokens: string[]): SocketSpec[] => Array.from({ length: CONNECTIONS }, (_, s) => ({ user: s % USERS, token: tokens[s % USERS] as string }));

async function run(teardown: Teardown, clients: SubscriptionClients): Promise<{ app: Figures; baseline: Figures }> {
  const databaseUrl = freshDatabaseUrl("benchsub");
  const redisPrefix = `bench:${uniqueSuffix()}:`;
  const queuePrefix = `bench-${uniqueSuffix()}`;
  teardown.add("deleting the run's Redis keys", async () => {
    await deleteKeys(`${redisPrefix}*`);
    await deleteKeys(`${queuePrefix}:*`);
  });
  const dropAppDatabase = teardown.add("dropping the database", () => dropDatabase(databaseUrl));
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    LOG_LEVEL: "error",
    QUEUE_PREFIX: queuePrefix,
    OUTBOX_POLL_INTERVAL_MS: POLL_MS,
    ACCESS_TOKEN_TTL_S: "3600",
    WS_MAX_SOCKETS_PER_USER: String(Math.max(10, Math.ceil(CONNECTIONS / USERS))),
  });
  const app = await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix });
  const stopApp = teardown.add("stopping the app", () => app.stop());
  const url = `ws://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql`;
  const { ids, tokens } = await signIn(app);
  const sockets = socketsOf(tokens);
  const appFigures = await measure(appTarget(app, url, ids), clients, sockets);
  await stopApp();
  await dropAppDatabase();

  const bare = await BareSubscriptionServer.start(REDIS_URL, pubSubPrefix(redisPrefix));
  const closeBare = teardown.add("closing the bare server", () => bare.close());
  const baseline = await measure(
    {
      url: bare.url,
      memory: () => bare.memory(),
      idle: (ms) => bare.idle(ms),
      settle: async () => undefined,
      changeEach: (users) => bare.publishEach(users.map((u) => ids[u] as string)),
      load: (total, perSecond) => bare.load(ids, total, perSecond),
    },
    clients,
    sockets,
  );
  await closeBare();
  return { app: appFigures, baseline };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : "");
const failuresOf = (f: Figures) => Object.entries(f.failures).filter(([, n]) => n > 0).map(([cause, n]) => `${n} ${cause}`).join("; ") || "none";

/** The rows of one delivery under a heading row: rate sent, messages, latency, the server's cost. */
function deliveryRows(heading: string, app: Delivery, base: Delivery): [string, string, string, string][] {
  const rate = (d: Delivery) => d.published.verificationIds.length / d.published.seconds;
  const p = (d: Delivery, q: number) => percentile(d.latencies, q);
  const max = (d: Delivery) => d.latencies.at(-1) ?? 0;
  const share = (d: Delivery) => d.delivered / Math.max(1, d.expected);
  const cpu = (d: Delivery) => d.published.cost.cpuPercent;
  const loop = (d: Delivery) => d.published.cost.loopP99Ms;
  return [
    [`**${heading}**`, "", "", ""],
    ["changes sent", `${app.published.verificationIds.length} at ${rate(app).toFixed(0)}/s`, `${base.published.verificationIds.length} at ${rate(base).toFixed(0)}/s`, ratio(rate(app), rate(base))],
    ["messages delivered / expected", `${app.delivered} / ${app.expected}`, `${base.delivered} / ${base.expected}`, ratio(share(app), share(base))],
    ["latency p50", ms(p(app, 50)), ms(p(base, 50)), ratio(p(app, 50), p(base, 50))],
    ["latency p99", ms(p(app, 99)), ms(p(base, 99)), ratio(p(app, 99), p(base, 99))],
    ["latency max", ms(max(app)), ms(max(base)), ratio(max(app), max(base))],
    ["server CPU while sending", `${cpu(app).toFixed(0)}% of a core`, `${cpu(base).toFixed(0)}% of a core`, ratio(cpu(app), cpu(base))],
    ["server event-loop delay p99", ms(loop(app)), ms(loop(base)), ratio(loop(app), loop(base))],
  ];
}

function table(app: Figures, base: Figures, helpers: number, filesLimit: number, loadAverage: string): string {
  const rows: [string, string, string, string][] = [
    ["connections held (acked, subscribed)", `${app.held} of ${CONNECTIONS}`, `${base.held} of ${CONNECTIONS}`, ratio(app.held, base.held)],
    ["failures", failuresOf(app), failuresOf(base), ""],
    ["time to open, acknowledge and send subscribe on every socket", `${app.connectSeconds.toFixed(1)} s`, `${base.connectSeconds.toFixed(1)} s`, ratio(app.connectSeconds, base.connectSeconds)],
    ["RSS per connection", kb(app.rssPerConnection), kb(base.rssPerConnection), ratio(app.rssPerConnection, base.rssPerConnection)],
    ["heapUsed per connection", kb(app.heapPerConnection), kb(base.heapPerConnection), ratio(app.heapPerConnection, base.heapPerConnection)],
    ["server CPU holding the sockets, nothing sent", `${app.idle.cpuPercent.toFixed(0)}% of a core`, `${base.idle.cpuPercent.toFixed(0)}% of a core`, ratio(app.idle.cpuPercent, base.idle.cpuPercent)],
    ...deliveryRows("commit → socket (baseline: publish → socket)", app.load, base.load),
    ...(app.pubSub ? deliveryRows("PubSub.publish → socket, the outbox and relay left out (baseline: the same as above)", app.pubSub, base.load) : []),
  ];
  return [
    "",
    `Node ${process.version}, ${CONNECTIONS} sockets over ${USERS} users (${Math.ceil(CONNECTIONS / USERS)} each) from ${helpers} client processes, ${CHANGES} changes at ${RATE}/s round robin over the users; open files limit ${filesLimit}; load average ${loadAverage} at the start (the machine has 2 cores; other work on it shows here).`,
    `App: service mode, OUTBOX_POLL_INTERVAL_MS=${POLL_MS}, each change a unit of work publishing kyc.status_changed (committed → Redis pub/sub → graphql-ws; the event itself to user-events through the outbox relay), ${COMMITS_IN_FLIGHT} in flight. Baseline: node:http + ws forwarding Redis pub/sub, its own process.`,
    "| measure | app | baseline | ratio |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    ...app.notes,
    "",
  ].join("\n");
}

export async function benchSubscriptions(): Promise<void> {
  const filesLimit = openFilesLimit();
  const loadAverage = loadavg()[0]?.toFixed(2) ?? "?";
  // One process holds every server-side socket; the client sockets are spread over helpers so that none passes the limit.
  if (filesLimit < CONNECTIONS + SPARE_FILES) throw new Error(`the server process holds ${CONNECTIONS} sockets but ulimit -n is ${filesLimit}: raise it to ${CONNECTIONS + SPARE_FILES} or lower BENCH_SUB_CONNECTIONS`);
  const helpers = Math.max(4, Math.ceil(CONNECTIONS / (filesLimit - SPARE_FILES)));
  const teardown = new Teardown();
  const clients = new SubscriptionClients(helpers);
  teardown.add("ending the client processes", () => clients.kill());
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the subscriptions bench passed BENCH_SUB_TIMEOUT_S (${DEADLINE_S} s)`)), DEADLINE_S * 1000);
  });
  const work = run(teardown, clients);
  work.catch(() => undefined); // after the deadline its failure is the teardown's doing
  try {
    const { app, baseline } = await Promise.race([work, deadline]);
    process.stdout.write(table(app, baseline, helpers, filesLimit, loadAverage));
  } finally {
    clearTimeout(timer);
    // A teardown that hangs (a server that never closes) must not keep the bench alive.
    const hung = setTimeout(() => {
      process.stderr.write("subscriptions bench: teardown still running after 120 s, exiting\n");
      process.exit(1);
    }, 120_000);
    hung.unref();
    await teardown.runAll();
    clearTimeout(hung);
  }
}
