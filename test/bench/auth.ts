// Accounts and sessions, each beside a baseline measured in the same run:
// - login/s over HTTP against raw bcrypt.compare/s at the same cost and concurrency, and the event
//   loop's p99 delay and `me` p99 during a login storm;
// - refresh rotations/s against the same rotation in raw SQL through pg;
// - authenticated `me` req/s against bare node:http + jose + pg.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import bcrypt from "bcrypt";
import { SignJWT, generateKeyPair, importJWK, jwtVerify, type JWK } from "jose";
import pg from "pg";
import { createApp } from "../../src/app";
import { loadConfig, type Config } from "../../src/config";
import { hashToken, newOpaqueToken } from "../../src/platform/crypto/tokens";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { load, type LoadResult } from "./load";

const PASSWORD = "Correct-Horse-42!";
const CONCURRENCY = 8;
const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 5) * 1000;

/** Runs `task(worker)` with CONCURRENCY workers for DURATION_MS; returns completions per second. */
async function rate(task: (worker: number) => Promise<unknown>, ms = DURATION_MS): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() < end) {
        await task(worker);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function gql(url: string, query: string, variables: unknown, token?: string): Promise<{ data?: Record<string, { accessToken?: string; refreshToken?: string }> }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as never;
}

const LOGIN = "mutation($input: LoginInput!) { login(input: $input) { ... on AuthPayload { accessToken refreshToken } } }";
const REFRESH = "mutation($t: String!) { refreshTokens(refreshToken: $t) { accessToken refreshToken } }";
const ME = "query { me { id email displayName } }";

/**
 * The floor for `me` and `refreshTokens`: bare node:http + jose + pg doing the same SQL and the
 * same signing or verification, without GraphQL, Prisma, rate limits or the audit trail.
 */
async function startAuthBaseline(pool: pg.Pool, publicKey: Awaited<ReturnType<typeof importJWK>>, config: Config): Promise<{ url: string; close(): Promise<void> }> {
  const { privateKey } = await generateKeyPair(config.JWT_ALGORITHM);
  const rotate = async (presented: string) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const spent = await client.query<{ session_id: string }>("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING session_id", [hashToken(presented)]);
      const sessionId = spent.rows[0]?.session_id;
      if (!sessionId) throw new Error("baseline rotation lost its chain");
      const next = newOpaqueToken();
      const { rows: sessions } = await client.query<{ user_id: string }>("UPDATE sessions SET last_active_at = now() WHERE id = $1 RETURNING user_id", [sessionId]);
      await client.query("INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')", [randomUUID(), sessionId, hashToken(next)]);
      await client.query("COMMIT");
      const accessToken = await new SignJWT({ sid: sessionId, roles: ["USER"] })
        .setProtectedHeader({ alg: config.JWT_ALGORITHM, typ: "at+jwt" })
        .setSubject(sessions[0]?.user_id ?? "")
        .setIssuer(config.PUBLIC_URL)
        .setAudience(config.JWT_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime("15m")
        .setJti(randomUUID())
        .sign(privateKey);
      return { refreshTokens: { accessToken, refreshToken: next } };
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    } finally {
      client.release();
    }
  };
  const me = async (authorization: string) => {
    const { payload } = await jwtVerify(authorization.slice(7), publicKey, { issuer: config.PUBLIC_URL, audience: config.JWT_AUDIENCE, typ: "at+jwt" });
    const { rows: users } = await pool.query("SELECT id, email, name FROM users WHERE id = $1", [payload.sub]);
    return { me: { id: users[0]?.id, email: users[0]?.email, displayName: users[0]?.name ?? "Member" } };
  };
  let inFlight = 0;
  const server = createServer(async (req, res) => {
    inFlight += 1;
    try {
      let raw = "";
      for await (const chunk of req) raw += String(chunk);
      const body = JSON.parse(raw) as { query: string; variables?: { t: string } };
      const data = body.query === REFRESH ? await rotate(body.variables?.t ?? "") : await me(req.headers.authorization ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
    } catch (error) {
      res.writeHead(500).end(String(error));
    } finally {
      inFlight -= 1;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      // Handlers of connections cut mid-request still hold pool clients: let them finish first.
      while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}

/** This process's CPU per request under each load (app and baseline both run here); the ratio is baseline/app, read like the req/s ratio. */
const cpuRow = (what: string, app: LoadResult, base: LoadResult): string =>
  `| ${what} | ${app.cpuUsPerRequest.toFixed(0)} µs | ${base.cpuUsPerRequest.toFixed(0)} µs | ${(base.cpuUsPerRequest / app.cpuUsPerRequest).toFixed(2)}x |`;

export async function benchAuth(): Promise<void> {
  const databaseUrl = freshDatabaseUrl("benchauth");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "error", TRUSTED_PROXIES: "127.0.0.1", REFRESH_RATE_LIMIT: "100000" });
  const app = await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix: `bench:${uniqueSuffix()}:` });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: config.DATABASE_POOL_SIZE });
  const rows: string[] = [];
  let baseline: { url: string; close(): Promise<void> } | undefined;
  try {
    const url = `http://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql`;
    const signing = await app.platform.database.prisma.signingKey.findFirstOrThrow({ where: { retiredAt: null } });
    baseline = await startAuthBaseline(pool, await importJWK(signing.publicJwk as JWK, config.JWT_ALGORITHM), config);
    const passwordHash = await bcrypt.hash(PASSWORD, config.BCRYPT_COST);
    const emails = Array.from({ length: 50 }, () => `${randomUUID()}@example.test`);
    await app.platform.database.prisma.user.createMany({ data: emails.map((email) => ({ email, passwordHash, status: "ACTIVE" as const, emailVerifiedAt: new Date() })) });
    let n = 0;
    // Each login from its own address and account, so the product's rate limits (5 per 15 min per account and IP) stay out of the measure.
    const login = () =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n++ & 255}` },
        body: JSON.stringify({ query: LOGIN, variables: { input: { email: emails[n % emails.length], password: PASSWORD } } }),
      }).then((r) => r.json() as Promise<{ data?: { login?: { accessToken: string; refreshToken: string } } }>);

    // 1. Login against raw bcrypt.compare at the same cost and concurrency; then, in a second storm,
    //    the event loop's delay and `me` latency while logins and `me` run together.
    const rawCompare = await rate(() => bcrypt.compare(PASSWORD, passwordHash));
    const logins = await rate(login);
    const session = (await login()).data?.login;
    if (!session) throw new Error("login failed in the benchmark");
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const meDuringStorm: number[] = [];
    const storm = rate(login);
    const meProbe = (async () => {
      const end = performance.now() + DURATION_MS - 200;
      while (performance.now() < end) {
        const t0 = performance.now();
        await gql(url, ME, undefined, session.accessToken);
        meDuringStorm.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const stormLogins = await storm;
    await meProbe;
    loop.disable();
    meDuringStorm.sort((a, b) => a - b);
    const meP99 = meDuringStorm[Math.floor(meDuringStorm.length * 0.99)] ?? 0;
    rows.push(`| login (bcrypt cost ${config.BCRYPT_COST}) | ${logins.toFixed(1)} logins/s | raw bcrypt.compare ${rawCompare.toFixed(1)}/s | ${(logins / rawCompare).toFixed(2)}x |`);
    rows.push(`| login storm (${stormLogins.toFixed(1)} logins/s) with me probes | event loop p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms | me p99 ${meP99.toFixed(1)} ms (${meDuringStorm.length} probes) | |`);

    // 2. Refresh rotation against the same rotation done in raw SQL through pg behind node:http, with
    //    the same JWT signing; each of the CONCURRENCY connections rotates its own session's chain.
    const appChains: string[] = [];
    for (let i = 0; i < CONCURRENCY; i += 1) appChains.push(((await login()).data?.login?.refreshToken ?? "") as string);
    const sessionIds = (await app.platform.database.prisma.session.findMany({ take: CONCURRENCY, select: { id: true } })).map((s) => s.id);
    const baseChains = sessionIds.map(() => newOpaqueToken());
    for (const [i, id] of sessionIds.entries()) {
      await pool.query("INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')", [randomUUID(), id, hashToken(baseChains[i] as string)]);
    }
    const rotations = (target: string, chains: string[]) => load({ url: target, connections: CONCURRENCY, seconds: DURATION_MS / 1000, refreshChains: chains, refreshQuery: REFRESH });
    const appRotations = await rotations(url, appChains);
    const baseRotations = await rotations(baseline.url, baseChains);
    rows.push(`| refresh rotation (${CONCURRENCY} sessions at once) | ${appRotations.rps.toFixed(0)} rotations/s, p99 ${appRotations.p99} ms | node:http + pg + jose ${baseRotations.rps.toFixed(0)}/s, p99 ${baseRotations.p99} ms | ${(appRotations.rps / baseRotations.rps).toFixed(2)}x |`);
    rows.push(cpuRow("… CPU a rotation", appRotations, baseRotations));

    // 3. Authenticated `me` against bare node:http + jose + pg.
    const fresh = (await login()).data?.login;
    if (fresh) session.accessToken = fresh.accessToken;
    const meLoad = (target: string) =>
      load({ url: target, connections: 16, seconds: DURATION_MS / 1000, headers: { authorization: `Bearer ${session.accessToken}` }, body: JSON.stringify({ query: ME }) });
    const appMe = await meLoad(url);
    const baseMe = await meLoad(baseline.url);
    rows.push(`| authenticated me | ${appMe.rps.toFixed(0)} req/s, p99 ${appMe.p99} ms | node:http + jose + pg ${baseMe.rps.toFixed(0)} req/s, p99 ${baseMe.p99} ms | ${(appMe.rps / baseMe.rps).toFixed(2)}x |`);
    rows.push(cpuRow("… CPU a request", appMe, baseMe));
  } finally {
    await baseline?.close();
    await pool.end();
    await app.stop();
    await dropDatabase(databaseUrl);
  }
  process.stdout.write(["", `Node ${process.version}, ${CONCURRENCY} callers in flight (refresh and me loaded by autocannon in a child process), ${DURATION_MS / 1000} s per measure.`, "| measure | app | baseline | ratio |", "| --- | --- | --- | --- |", ...rows, ""].join("\n"));
}
