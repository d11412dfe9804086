// The soak (BENCH=soak; SOAK_MINUTES, default 10): the service in this process (service mode, fresh
// database, real PostgreSQL and Redis, relay and audit chainer running) under a steady mixed load
// from a child process (soak-load.ts). Per minute: requests by kind, errors, RSS and heap after a
// full GC, the event loop's p99 delay and the outbox backlog. Goals: zero errors, RSS at the end
// within 10 % of RSS after the first minute, event loop p99 under 50 ms, no backlog at the end.
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import bcrypt from "bcrypt";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { memoryAfterGc } from "./measure";
import type { SoakCounts, SoakSpec } from "./soak-load";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const PASSWORD = "Correct-Horse-42!";
const USERS = 500;
const MB = 1024 * 1024;

interface Minute {
  minute: number;
  counts: SoakCounts;
  rssMb: number;
  heapMb: number;
  loopP99Ms: number;
  backlog: number;
}

export async function benchSoak(): Promise<void> {
  const databaseUrl = freshDatabaseUrl("soak");
  // bcrypt at cost 4: the soak looks for leaks and stalls, and at cost 12 hashing alone would
  // saturate these two cores (the login benchmark measures cost 12). Per-address limits are kept,
  // each request comes from an address of its own behind the trusted proxy.
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "warn", BCRYPT_COST: "4", TRUSTED_PROXIES: "127.0.0.1", QUEUE_PREFIX: `soak-${uniqueSuffix()}` });
  const app = await createApp(config, { logger: createLogger({ level: "warn" }), redisPrefix: `soak:${uniqueSuffix()}:` });
  const child = fork(require.resolve("./soak-load"), [], { execArgv: ["-r", "@swc-node/register"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const minutes: Minute[] = [];
  try {
    const url = `http://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql`;
    const { prisma } = app.platform.database;
    const passwordHash = await bcrypt.hash(PASSWORD, 4);
    const emails = Array.from({ length: USERS }, () => `soak-known-${randomUUID()}@example.test`);
    await prisma.user.createMany({ data: emails.map((email) => ({ email, passwordHash, status: "ACTIVE" as const, emailVerifiedAt: new Date(), name: "Known" })) });
    const userIds = (await prisma.user.findMany({ select: { id: true } })).map((u) => u.id);
    const backlog = () => prisma.outboxEvent.count({ where: { publishedAt: null } });

    const reports: { counts: SoakCounts; final: boolean }[] = [];
    child.on("message", (message: { counts: SoakCounts; final: boolean }) => reports.push(message));
    const nextReport = async (message: object) => {
      const had = reports.length;
      child.send(message);
      while (reports.length === had) await new Promise((resolve) => setTimeout(resolve, 20));
      return reports[reports.length - 1] as { counts: SoakCounts };
    };
    const spec: SoakSpec = { url, emails, userIds, password: PASSWORD, workers: 8, thinkMs: 20 };
    child.send({ start: spec });
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (let minute = 1; minute <= MINUTES; minute += 1) {
      loop.reset();
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      const loopP99Ms = loop.percentile(99) / 1e6;
      const { counts } = await nextReport(minute === MINUTES ? { stop: true } : { report: true });
      const memory = memoryAfterGc();
      minutes.push({ minute, counts, rssMb: memory.rss / MB, heapMb: memory.heapUsed / MB, loopP99Ms, backlog: await backlog() });
      process.stdout.write(row(minutes[minutes.length - 1] as Minute));
    }
    loop.disable();
    // What the last minute committed has a few seconds to reach the queues.
    const drainStarted = performance.now();
    while ((await backlog()) > 0 && performance.now() - drainStarted < 30_000) await new Promise((resolve) => setTimeout(resolve, 200));
    const left = await backlog();
    const first = minutes[0] as Minute;
    const last = minutes[minutes.length - 1] as Minute;
    const growth = ((last.rssMb - first.rssMb) / first.rssMb) * 100;
    const errors = minutes.reduce((n, m) => n + m.counts.errors, 0);
    const worstLoop = Math.max(...minutes.map((m) => m.loopP99Ms));
    const total = minutes.reduce((n, m) => n + Object.values(m.counts.requests).reduce((a, b) => a + b, 0), 0);
    process.stdout.write(
      [
        "",
        `Node ${process.version}, ${MINUTES} minutes, ${spec.workers} people at once (register, login, 4x me, _entities, updateProfile, 2x refresh, logout; ${spec.thinkMs} ms between steps), bcrypt cost 4; ${total} requests, ${(total / (MINUTES * 60)).toFixed(0)}/s.`,
        "| minute | requests | by kind | errors | RSS MB | heap MB | event loop p99 ms | outbox backlog |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ...minutes.map(row).map((line) => line.trimEnd()),
        "",
        `| goal | figure | verdict |`,
        `| --- | --- | --- |`,
        `| zero errors | ${errors} | ${errors === 0 ? "met" : "NOT met"} |`,
        `| RSS at the end vs after minute 1 under +10 % | ${first.rssMb.toFixed(0)} -> ${last.rssMb.toFixed(0)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)} %) | ${growth < 10 ? "met" : "NOT met"} |`,
        `| event loop p99 under 50 ms (worst minute) | ${worstLoop.toFixed(1)} ms | ${worstLoop < 50 ? "met" : "NOT met"} |`,
        `| no outbox backlog at the end (after up to 30 s) | ${left} | ${left === 0 ? "met" : "NOT met"} |`,
        ...(errors > 0 ? ["", "First errors:", ...minutes.flatMap((m) => m.counts.samples).slice(0, 5)] : []),
        "",
      ].join("\n"),
    );
    if (errors > 0) throw new Error(`the soak saw ${errors} errors`);
  } finally {
    if (child.connected) child.kill();
    await app.stop();
    await dropDatabase(databaseUrl);
  }
}

function row(m: Minute): string {
  const requests = Object.values(m.counts.requests).reduce((a, b) => a + b, 0);
  const kinds = Object.entries(m.counts.requests).map(([kind, n]) => `${kind} ${n}`).join(", ");
  return `| ${m.minute} | ${requests} | ${kinds} | ${m.counts.errors} | ${m.rssMb.toFixed(0)} | ${m.heapMb.toFixed(0)} | ${m.loopP99Ms.toFixed(1)} | ${m.backlog} |\n`;
}
