import { randomBytes, randomUUID } from "node:crypto";
import WebSocket from "ws";
import { RegisterDocument } from "../support/generated/operations";
import { startTestApp, type TestApp } from "../support/app";
import { graphql } from "../support/graphql";
import { runOperation, wsClient } from "../support/ws";

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

describe("with production's default limits", () => {
  let r: TestApp;
  beforeAll(async () => {
    r = await startTestApp(PRODUCTION);
  });
  afterAll(() => r.stop());
  const sdl = "{ _service { sdl } }";

  it("refuses /graphql over HTTP without the router's secret, or with another, with 401", async () => {
    for (const headers of [{} as Record<string, string>, { "x-router-secret": "x".repeat(44) }, { "x-router-secret": `${PRODUCTION.ROUTER_SECRET.slice(0, -2)}xx` }]) {
      const res = await graphql(r.baseUrl, sdl, undefined, headers);
      expect(res.status).toBe(401);
      expect(res.errors).toEqual([{ message: "This subgraph answers the router only", extensions: { code: "UNAUTHENTICATED", requestId: expect.any(String) } }]);
    }
    const routed = await graphql(r.baseUrl, sdl, undefined, ROUTER);
    expect(JSON.stringify(routed.data)).toContain("@key");
  });

  it("refuses the WebSocket handshake without it with 401, and serves the router's", async () => {
    const url = `${r.baseUrl.replace("http", "ws")}/graphql`;
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url, ["graphql-transport-ws"]);
      socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      socket.on("open", () => resolve(101));
    });
    expect(status).toBe(401);
    const routerSocket = class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: ROUTER });
      }
    };
    const c = wsClient(url, undefined, { webSocketImpl: routerSocket });
    expect(JSON.stringify((await runOperation(c, sdl)).data)).toContain("@key");
    // item 9: no field suggestions over WebSocket in production either.
    expect(JSON.stringify(await runOperation(c, "{ usr }"))).not.toMatch(/Did you mean/);
    await c.dispose();
  });

  it("leaves health and JWKS open to every caller, and serves /metrics only on METRICS_PORT", async () => {
    expect((await fetch(`${r.baseUrl}/health/live`)).status).toBe(200);
    expect((await fetch(`${r.baseUrl}/.well-known/jwks.json`)).status).toBe(200);
    expect((await fetch(`${r.baseUrl}/metrics`)).status).toBe(404);
    const port = r.app.metricsPort();
    expect(port).not.toBeNull();
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("graphql_operations_total");
  });

  it("item 9: the router may ask for a federated trace (ftv1); nobody else reaches the server to ask", async () => {
    const traced = await graphql(r.baseUrl, sdl, undefined, { ...ROUTER, "apollo-federation-include-trace": "ftv1" });
    expect((traced as unknown as { extensions?: { ftv1?: string } }).extensions?.ftv1).toEqual(expect.any(String));
    expect((await graphql(r.baseUrl, sdl, undefined, { "apollo-federation-include-trace": "ftv1" })).status).toBe(401);
  });

  it("item 9: a bad variable's error names the field without suggesting names or echoing the value", async () => {
  const secret = "Sup3r-secret-passw0rd!";
  const res = await graphql(r.baseUrl, RegisterDocument, { input: { emial: "a@example.test", password: secret } } as never, ROUTER);
  expect(res.status).toBe(400);
  expect(res.errors?.map((e) => e.message)).toEqual([
    'Variable "$input" got invalid value; Field "email" of required type "String!" was not provided.',
    'Variable "$input" got invalid value; Field "emial" is not defined by type "RegisterInput".',
  ]);
  expect(res.errors?.[1]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input" }] });
  expect(JSON.stringify(res)).not.toMatch(/Did you mean|Sup3r/);
});
});
