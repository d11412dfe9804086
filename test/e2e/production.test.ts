import { randomBytes, randomUUID } from "node:crypto";
import { startTestApp, type TestApp } from "../support/app";
import { graphql } from "../support/graphql";

/** The service as production runs it: no details in errors, no introspection, no IDE. */
const PRODUCTION = {
  NODE_ENV: "production",
  AUDIT_SIGNING_KEY: randomBytes(32).toString("base64"),
  KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  REDIS_REQUIRE_DURABILITY: "false", // the test Redis keeps nothing on disk
  PUBLIC_URL: "https://id.example.test",
  ROUTER_SECRET: randomBytes(32).toString("base64"),
  METRICS_PORT: "0",
};
/** What the router adds to every request it forwards. */
const ROUTER = { "x-router-secret": PRODUCTION.ROUTER_SECRET };
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ ...PRODUCTION, GRAPHQL_MAX_DEPTH: "1" });
});
afterAll(() => t.stop());

it("SECURITY 44: rejects an over-deep operation before execution, naming the limit", async () => {
  const res = await graphql(t.baseUrl, `query Deep { user(id: "${randomUUID()}") { id } }`, undefined, ROUTER);
  expect(res.status).toBe(400);
  expect(res.errors?.map((e) => e.message)).toEqual(['Operation "Deep" is 2 levels deep; the maximum depth is 1']);
});

it("SECURITY 43: refuses introspection with INTROSPECTION_DISABLED", async () => {
  const res = await graphql(t.baseUrl, `{ __schema { types { name } } }`, undefined, ROUTER);
  expect(res.status).toBe(400);
  expect(res.errors?.[0]?.extensions?.code).toBe("INTROSPECTION_DISABLED");
});

it("SECURITY 43: gives no field suggestions", async () => {
  const res = await graphql(t.baseUrl, `{ usr }`, undefined, ROUTER);
  expect(res.status).toBe(400);
  expect(JSON.stringify(res.errors)).not.toMatch(/Did you mean/);
});

it("serves no IDE to a browser", async () => {
  const res = await fetch(`${t.baseUrl}/graphql`, { headers: { accept: "text/html", ...ROUTER } });
  expect(await res.text()).not.toMatch(/sandbox|embeddable|<html/i);
});

it("SECURITY 47: answers an unexpected failure with INTERNAL_SERVER_ERROR, a request id and nothing else", async () => {
  const other = await startTestApp(PRODUCTION);
  await other.app.platform.database.close(); // fault injection: the database goes away mid-life
  try {
    const res = await graphql(other.baseUrl, `{ user(id: "${randomUUID()}") { id } }`, undefined, { "x-request-id": "fault-1", ...ROUTER });
    expect(res.status).toBe(200);
    expect(res.errors).toEqual([{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR", requestId: "fault-1" } }]);
    expect(JSON.stringify(res)).not.toMatch(/prisma|pool|stack|\.ts/i);
    const logged = other.logs().find((line) => line.msg === "unexpected error");
    expect(logged).toMatchObject({ level: "error", requestId: "fault-1", path: ["user"] });
    expect((logged?.err as { stack?: string }).stack).toMatch(/\n\s+at /);
  } finally {
    await other.stop().catch(() => undefined); // the pool is already closed; the database is dropped regardless
  }
});
