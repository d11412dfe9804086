// Authorization: `checkPermission` over HTTP, asked by a service client (the authz:check scope) for a
// user holding 3 roles and 2 grants with 50 stored policies, beside the `me` query in the same run; and the in-process decision time, warm (the
// user's roles, grants and the policy set cached) and cold (a user not seen yet: one query).
import { randomUUID } from "node:crypto";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createLogger } from "../../src/platform/logging/logger";
import { dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl, uniqueSuffix } from "../support/env";
import { load } from "./load";

const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 5) * 1000;
const CHECK = 'query($input: CheckPermissionInput!) { checkPermission(input: $input) { allowed reason } }';
const ME = "query { me { id email displayName } }";

/** Microseconds per call of `fn`, over `n` calls after a warm-up. */
async function perCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - started) / n / 1000;
}

export async function benchAuthz(): Promise<void> {
  const databaseUrl = freshDatabaseUrl("benchauthz");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "error", TRUSTED_PROXIES: "127.0.0.1", BCRYPT_COST: "4" });
  const app = await createApp(config, { logger: createLogger({ level: "error" }), redisPrefix: `bench:${uniqueSuffix()}:` });
  const rows: string[] = [];
  try {
    const url = `http://127.0.0.1:${await app.listen(0, "127.0.0.1")}/graphql`;
    const prisma = app.platform.database.prisma;
    const { authz, accounts } = app.modules;
    const email = `${randomUUID()}@example.test`;
    await accounts.api.accounts.register({ email, password: "Correct-Horse-42!" }, { actor: { type: "anonymous", id: null } });
    const user = await prisma.user.update({ where: { email }, data: { status: "ACTIVE", emailVerifiedAt: new Date() } });
    for (const role of ["support", "viewer"]) await authz.api.changeRole(user.id, role, "assign");
    await prisma.permissionGrant.createMany({ data: ["reports:export", "reports:read"].map((permission) => ({ id: randomUUID(), userId: user.id, permission, expiresAt: new Date(Date.now() + 3_600_000) })) });
    // 50 policies: 45 about other permissions, 5 that cover market:read (ALLOW and DENY with conditions).
    await prisma.policy.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({
        id: randomUUID(),
        name: `bench-${i}`,
        effect: i % 2 === 0 ? ("ALLOW" as const) : ("DENY" as const),
        subjects: i % 3 === 0 ? ["role:trader"] : [`user:${randomUUID()}`],
        actions: i < 5 ? ["market:read"] : [`bench${i}:*`],
        resources: [],
        condition: i % 2 === 0 ? 'context.input.channel == "web"' : 'context.input.channel == "fax"',
      })),
    });
    const login = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: 'mutation { login(input: { email: "' + email + '", password: "Correct-Horse-42!" }) { ... on AuthPayload { accessToken } } }' }) });
    const token = ((await login.json()) as { data: { login: { accessToken: string } } }).data.login.accessToken;
    const headers = { authorization: `Bearer ${token}` };
    // The service client: created by this user made admin, its token from the client credentials grant.
    await authz.api.changeRole(user.id, "admin", "assign");
    const relogin = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: 'mutation { login(input: { email: "' + email + '", password: "Correct-Horse-42!" }) { ... on AuthPayload { accessToken } } }' }) });
    const adminToken = ((await relogin.json()) as { data: { login: { accessToken: string } } }).data.login.accessToken;
    const created = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ query: 'mutation { createServiceClient(input: { name: "bench", scopes: ["authz:check"] }) { client { clientId } clientSecret } }' }),
    });
    await authz.api.changeRole(user.id, "admin", "remove"); // back to 3 roles
    const { client, clientSecret } = ((await created.json()) as { data: { createServiceClient: { client: { clientId: string }; clientSecret: string } } }).data.createServiceClient;
    const grant = await fetch(url.replace("/graphql", "/oauth/token"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: client.clientId, client_secret: clientSecret }).toString(),
    });
    const clientHeaders = { authorization: `Bearer ${((await grant.json()) as { access_token: string }).access_token}` };
    const covered = { permission: "market:read", userId: user.id, context: { channel: "web" } };
    const uncovered = { permission: "users:read", userId: user.id };
    const check = (input: object) => load({ url, connections: 16, seconds: DURATION_MS / 1000, headers: clientHeaders, body: JSON.stringify({ query: CHECK, variables: { input } }) });
    // `me` before and after the checks: the machine is shared, so the baseline is their mean.
    const meLoad = () => load({ url, connections: 16, seconds: DURATION_MS / 1000, headers, body: JSON.stringify({ query: ME }) });
    const meBefore = await meLoad();
    const plain = await check(uncovered);
    const withPolicies = await check(covered);
    const meAfter = await meLoad();
    const me = { rps: (meBefore.rps + meAfter.rps) / 2, p99: Math.max(meBefore.p99, meAfter.p99) };
    rows.push(`| checkPermission by a service client, no policy covers it | ${plain.rps.toFixed(0)} req/s, p99 ${plain.p99} ms | me ${me.rps.toFixed(0)} req/s, p99 ${me.p99} ms | ${(plain.rps / me.rps).toFixed(2)}x |`);
    rows.push(`| checkPermission by a service client, 5 of 50 policies cover it (Cedar evaluates) | ${withPolicies.rps.toFixed(0)} req/s, p99 ${withPolicies.p99} ms | me ${me.rps.toFixed(0)} req/s, p99 ${me.p99} ms | ${(withPolicies.rps / me.rps).toFixed(2)}x |`);

    const principal = { userId: user.id };
    const warmPlain = await perCall(20_000, () => authz.api.decide(principal, "users:read"));
    const warmCovered = await perCall(5_000, () => authz.api.decide(principal, "market:read", undefined, { channel: "web" }));
    // The cold case: users whose roles and grants no instance has cached yet (one query each).
    const cold = await perCall(300, () => authz.api.decide({ userId: randomUUID() }, "users:read"));
    rows.push(`| decision in-process, warm, no policy covers it | ${warmPlain.toFixed(1)} µs | goal 50 µs | |`);
    rows.push(`| decision in-process, warm, Cedar evaluates 50 policies | ${warmCovered.toFixed(1)} µs | goal 50 µs | |`);
    rows.push(`| decision in-process, cold (one query for the user) | ${cold.toFixed(1)} µs | goal 1,000 µs | |`);
  } finally {
    await app.stop();
    await dropDatabase(databaseUrl);
  }
  process.stdout.write(["", `Node ${process.version}, 16 connections (autocannon in a child process), ${DURATION_MS / 1000} s per measure.`, "| measure | app | beside | ratio |", "| --- | --- | --- | --- |", ...rows, ""].join("\n"));
}
