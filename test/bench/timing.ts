// SECURITY 2 and 31: no timing signal tells a known account from an unknown one. Interleaved
// samples of login (unknown email vs wrong password), requestPasswordReset (unknown vs known
// address) and register (new vs taken address); each line gives both medians, their ratio and a Mann-Whitney U test (|z| < 1.96: no
// significant difference at the 5% level). bcrypt runs at a low cost here, so that differences in
// the rest of the work are not hidden in bcrypt's own variance: the stricter setting.
import { randomInt, randomUUID } from "node:crypto";
import bcrypt from "bcrypt";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";

const SAMPLES = Number(process.env.BENCH_TIMING_SAMPLES ?? 200);
const COST = 8;
const LOGIN = "mutation($input: LoginInput!) { login(input: $input) { __typename } }";
const RESET = "mutation($email: String!) { requestPasswordReset(email: $email) }";
const REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { status } }";

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Mann-Whitney U as a z score (normal approximation, ties given their mean rank). */
function mannWhitneyZ(a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, a: true })), ...b.map((v) => ({ v, a: false }))].sort((x, y) => x.v - y.v);
  let rankSumA = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j += 1;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k += 1) if (all[k]?.a) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (a.length * (a.length + 1)) / 2;
  return (u - (a.length * b.length) / 2) / Math.sqrt((a.length * b.length * (a.length + b.length + 1)) / 12);
}

export async function benchTiming(): Promise<void> {
  const databaseUrl = freshDatabaseUrl("benchtiming");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "error", TRUSTED_PROXIES: "127.0.0.1", BCRYPT_COST: String(COST) });
  const app = await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix: `bench:${uniqueSuffix()}:` });
  const rows: string[] = [];
  try {
    const url = `http://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql`;
    // One account per sample, so the per-account limits (login failures, reset requests) never trip.
    const passwordHash = await bcrypt.hash("Correct-Horse-42!", COST);
    const known = Array.from({ length: SAMPLES }, () => `${randomUUID()}@example.test`);
    await app.platform.database.prisma.user.createMany({ data: known.map((email) => ({ email, passwordHash, status: "ACTIVE" as const, emailVerifiedAt: new Date() })) });

    const timed = async (query: string, variables: unknown): Promise<number> => {
      const t0 = performance.now();
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
      if (body.errors?.some((e) => e.extensions?.code === "RATE_LIMITED")) throw new Error("rate limited: the timing bench needs fresh keys per sample");
      return performance.now() - t0;
    };
    /** Interleaves the two cases in a random order, after a warm-up of each. */
    const compare = async (label: string, unknownCase: (i: number) => Promise<number>, knownCase: (i: number) => Promise<number>) => {
      await unknownCase(-1);
      await knownCase(-1);
      const unknownTimes: number[] = [];
      const knownTimes: number[] = [];
      // Each sample on a quiet server: the previous request's background work (mail, audit) done.
      const quiet = async (run: () => Promise<number>) => {
        await new Promise((r) => setTimeout(r, 10));
        return run();
      };
      for (let i = 0; i < SAMPLES; i += 1) {
        if (randomInt(2)) {
          unknownTimes.push(await quiet(() => unknownCase(i)));
          knownTimes.push(await quiet(() => knownCase(i)));
        } else {
          knownTimes.push(await quiet(() => knownCase(i)));
          unknownTimes.push(await quiet(() => unknownCase(i)));
        }
      }
      const [mu, mk] = [median(unknownTimes), median(knownTimes)];
      const z = mannWhitneyZ(unknownTimes, knownTimes);
      rows.push(`| ${label} | ${mu.toFixed(2)} ms | ${mk.toFixed(2)} ms | ${(mu / mk).toFixed(3)}x | ${z.toFixed(2)} (${Math.abs(z) < 1.96 ? "no significant gap" : "SIGNIFICANT GAP"}) |`);
    };
    const someone = (i: number) => known[Math.max(i, 0)] as string;
    await compare(
      "SECURITY 2: login, unknown email vs wrong password",
      () => timed(LOGIN, { input: { email: `${randomUUID()}@example.test`, password: "Wrong-Horse-42!" } }),
      (i) => timed(LOGIN, { input: { email: someone(i), password: "Wrong-Horse-42!" } }),
    );
    await compare(
      "SECURITY 31: requestPasswordReset, unknown vs known address",
      () => timed(RESET, { email: `${randomUUID()}@example.test` }),
      (i) => timed(RESET, { email: someone(i) }),
    );
    await compare(
      "register, new vs taken address",
      () => timed(REGISTER, { input: { email: `${randomUUID()}@example.test`, password: "Correct-Horse-42!" } }),
      (i) => timed(REGISTER, { input: { email: someone(i), password: "Correct-Horse-42!" } }),
    );
  } finally {
    await app.stop();
    await dropDatabase(databaseUrl);
  }
  process.stdout.write(
    ["", `${SAMPLES} interleaved samples per case, one at a time, bcrypt cost ${COST}.`, "| case | unknown (median) | known (median) | ratio | Mann-Whitney z |", "| --- | --- | --- | --- | --- |", ...rows, ""].join("\n"),
  );
}
