import { randomUUID } from "node:crypto";
import { SubgraphSdlDocument, UserEntitiesDocument } from "../support/generated/operations";
import { startTestApp, type TestApp } from "../support/app";
import { graphql, metricValue } from "../support/graphql";
import { waitUntil } from "../support/wait";

let t: TestApp;
const ids: string[] = [];

beforeAll(async () => {
  t = await startTestApp({ OUTBOX_RELAY: "false" }); // no background queries while counting them below
  const prisma = t.app.platform.database.prisma;
  for (let i = 0; i < 100; i += 1) ids.push(randomUUID());
  await prisma.user.createMany({
    data: ids.map((id, i) => ({ id, email: `user${i}@example.test`, name: i % 2 === 0 ? `User ${i}` : null, avatarUrl: `https://cdn.example.test/${i}.png` })),
  });
});
afterAll(() => t.stop());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${t.baseUrl}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("health", () => {
  it("is live and ready with the database and Redis up", async () => {
    expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${t.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ok", checks: { database: "up", redis: "up" } });
  });
});

describe("the HTTP surface", () => {
  const ALLOWED = "https://studio.apollographql.com"; // one of the default origins outside production
  const sdl = JSON.stringify({ query: "{ _service { sdl } }" });

  it("reflects an allowed Origin with Vary: Origin, and gives another origin, or none, no CORS header (the answer itself unchanged)", async () => {
    const allowed = await post(sdl, { origin: ALLOWED });
    expect([allowed.status, allowed.headers.get("access-control-allow-origin"), allowed.headers.get("vary")]).toEqual([200, ALLOWED, "Origin"]);
    for (const headers of [{ origin: "https://evil.test" }, {}] as Record<string, string>[]) {
      const other = await post(sdl, headers);
      expect([other.status, other.headers.get("access-control-allow-origin"), other.headers.get("vary")]).toEqual([200, null, null]);
    }
  });

  it("answers an allowed origin's preflight with 204, allowing the requested headers for 10 minutes; another origin's goes to Apollo, which refuses it", async () => {
    const preflight = (origin: string) =>
      fetch(`${t.baseUrl}/graphql`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" } });
    const allowed = await preflight(ALLOWED);
    expect(allowed.status).toBe(204);
    expect(await allowed.text()).toBe("");
    expect(Object.fromEntries([...allowed.headers].filter(([name]) => name.startsWith("access-control-") || name === "vary" || name === "content-length"))).toEqual({
      "access-control-allow-origin": ALLOWED,
      "access-control-allow-methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
      "access-control-allow-headers": "content-type,authorization",
      "access-control-max-age": "600",
      "content-length": "0",
      vary: "Origin, Access-Control-Request-Headers",
    });
    const other = await preflight("https://evil.test");
    expect([other.status, other.headers.get("access-control-allow-origin")]).toEqual([400, null]);
    expect(await other.text()).toMatch(/Cross-Site Request Forgery/);
  });

  it("gives every answer a request id, a 404 outside the routes in GraphQL's error shape, and answers HEAD on GET routes without a body", async () => {
    expect((await fetch(`${t.baseUrl}/health/live`, { headers: { "x-request-id": "live-1" } })).headers.get("x-request-id")).toBe("live-1");
    const missing = await fetch(`${t.baseUrl}/nowhere?x=1`, { headers: { "x-request-id": "missing-1" } });
    expect([missing.status, missing.headers.get("content-type"), missing.headers.get("x-request-id")]).toEqual([404, "application/json; charset=utf-8", "missing-1"]);
    expect(await missing.json()).toEqual({ errors: [{ message: "No such route", extensions: { code: "NOT_FOUND", requestId: "missing-1" } }] });
    expect((await fetch(`${t.baseUrl}/graphql/more`, { method: "POST", headers: { "content-type": "application/json" }, body: sdl })).status).toBe(404);
    for (const path of ["/health/live", "/metrics"]) {
      const head = await fetch(`${t.baseUrl}${path}`, { method: "HEAD" });
      expect([path, head.status, await head.text()]).toEqual([path, 200, ""]);
    }
  });

  it("serves the landing page to a browser outside production, and refuses other methods on /graphql with 405", async () => {
    const page = await fetch(`${t.baseUrl}/graphql`, { headers: { accept: "text/html" } });
    expect([page.status, page.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
    expect(await page.text()).toMatch(/<html/i);
    const put = await fetch(`${t.baseUrl}/graphql`, { method: "PUT", headers: { "content-type": "application/json" }, body: sdl });
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, POST"]);
  });

  it("logs one line per answered request with its id, method, path (no query), status and duration", async () => {
    await fetch(`${t.baseUrl}/graphql?ignored=1`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "logged-1" }, body: sdl });
    const line = await waitUntil("the request's log line", async () => t.logs().find((l) => l.msg === "request" && l.requestId === "logged-1"));
    expect(line).toMatchObject({ level: "info", method: "POST", path: "/graphql", status: 200, ms: expect.any(Number) });
  });
});

describe("federation", () => {
  it("answers _service { sdl } with the User entity key", async () => {
    const res = await graphql(t.baseUrl, SubgraphSdlDocument);
    expect(res.errors).toBeUndefined();
    expect(res.data?._service.sdl).toMatch(/type User\s+@key\(fields: "id"\)/);
  });

  it("resolves 100 User references in order with ONE SQL query, null for unknown ids", async () => {
    const unknown = randomUUID();
    const wanted = [...ids.slice(0, 50), unknown, ...ids.slice(50).reverse(), "not-a-uuid"];
    const representations = wanted.map((id) => ({ __typename: "User", id }));
    const queries: string[] = [];
    // Through Prisma or through pg (a prepared statement, issue 16): every statement sent to the users table.
    const seen = (text: string) => /\busers\b/.test(text) && queries.push(text);
    t.app.platform.database.prisma.$on("query", (event) => seen(event.query));
    t.app.platform.database.sql.onQuery(seen);
    const res = await graphql(t.baseUrl, UserEntitiesDocument, { representations });
    expect(res.errors).toBeUndefined();
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/FROM users WHERE id = ANY/);
    const entities = res.data?._entities ?? [];
    expect(entities).toHaveLength(102);
    expect(entities.map((e) => e?.id ?? null)).toEqual(wanted.map((id) => (id === unknown || id === "not-a-uuid" ? null : id)));
    expect(entities[0]).toEqual({ id: ids[0], displayName: "User 0", avatarUrl: "https://cdn.example.test/0.png" });
    expect(entities[1]?.displayName).toBe("Member");
  });

  it("SECURITY 38, 40: exposes no private data on the entity", async () => {
    const res = await graphql(t.baseUrl, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email emailVerified status } } }`, { r: [{ __typename: "User", id: ids[0] }] });
    expect(res.data).toEqual({ _entities: [{ id: ids[0], email: null, emailVerified: null, status: null }] });
  });
});

describe("users table", () => {
  it("keeps email unique regardless of case", async () => {
    const prisma = t.app.platform.database.prisma;
    await expect(prisma.user.create({ data: { email: "USER0@Example.TEST" } })).rejects.toMatchObject({ code: "P2002" });
    expect(await prisma.user.findUnique({ where: { email: "User0@EXAMPLE.test" }, select: { id: true } })).toEqual({ id: ids[0] });
  });
});

describe("errors", () => {
  it("names the bad field with BAD_USER_INPUT", async () => {
    const res = await graphql(t.baseUrl, `{ user(id: "nope") { id } }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "id", message: "must be a UUID" }] });
  });

  it("names the variable path when a variable has the wrong type", async () => {
    const res = await graphql(t.baseUrl, `query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`, { r: null });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "r" }] });
  });

  it("carries the caller's x-request-id in the response header and error extensions", async () => {
    const res = await graphql(t.baseUrl, `{ user(id: "nope") { id } }`, undefined, { "x-request-id": "req-abc.123" });
    expect(res.headers.get("x-request-id")).toBe("req-abc.123");
    expect(res.errors?.[0]?.extensions?.requestId).toBe("req-abc.123");
  });

  it("names the request on errors refused before execution too, each error beside its own extensions", async () => {
    const refusals = [
      await graphql(t.baseUrl, `{ user(id: "${ids[0]}") { id } }`, undefined, { authorization: "Bearer forged", "x-request-id": "r-token" }),
      await graphql(t.baseUrl, `{ user(id: "${ids[0]}") { id nope nope2 } }`, undefined, { "x-request-id": "r-invalid" }),
      await graphql(t.baseUrl, `{ user(id: `, undefined, { "x-request-id": "r-syntax" }),
    ];
    expect(refusals.map((res) => [res.status, res.errors?.map((e) => [e.extensions?.code, e.extensions?.requestId])])).toEqual([
      [401, [["UNAUTHENTICATED", "r-token"]]],
      [400, [["GRAPHQL_VALIDATION_FAILED", "r-invalid"], ["GRAPHQL_VALIDATION_FAILED", "r-invalid"]]],
      [400, [["GRAPHQL_PARSE_FAILED", "r-syntax"]]],
    ]);
    const answered = await graphql(t.baseUrl, `{ user(id: "${ids[0]}") { id } }`, undefined, { "x-request-id": "r-ok" });
    expect([answered.errors, answered.data]).toEqual([undefined, { user: { id: ids[0] } }]);
  });

  it("replaces an unusable x-request-id with a generated one", async () => {
    const res = await graphql(t.baseUrl, `{ user(id: "nope") { id } }`, undefined, { "x-request-id": "bad id\twith spaces" });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses a presented bearer token with UNAUTHENTICATED and 401 (no tokens are issued yet)", async () => {
    const res = await graphql(t.baseUrl, `{ user(id: "${ids[0]}") { id } }`, undefined, { authorization: "Bearer forged" });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("limits", () => {
  it("rejects 500 aliases with a message naming the limit", async () => {
    const aliases = Array.from({ length: 500 }, (_, i) => `a${i}: user(id: "${ids[0]}") { id }`).join(" ");
    const res = await graphql(t.baseUrl, `query Many { ${aliases} }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.message).toBe('Operation "Many" uses 500 aliases; the maximum is 30');
    expect(res.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("SECURITY 44: rejects a fragment bomb quickly and clearly", async () => {
    const defs = Array.from({ length: 30 }, (_, i) => `fragment B${i} on User { ...B${i + 1} ...B${i + 1} }`).join("\n");
    const res = await graphql(t.baseUrl, `query Bomb { user(id: "${ids[0]}") { ...B0 } }\n${defs}\nfragment B30 on User { id }`);
    expect(res.status).toBe(400);
    expect(res.errors?.map((e) => e.message).join(" ")).toMatch(/too many selections|maximum cost/i);
  });

  it("item 6: a 900 KB document is refused by the token limit (GRAPHQL_PARSE_FAILED) while /health/live keeps answering", async () => {
    const query = `{ ${"me { id } ".repeat(90_000)} }`;
    expect(query.length).toBeGreaterThan(900_000);
    const refused = graphql(t.baseUrl, query);
    expect((await fetch(`${t.baseUrl}/health/live`, { signal: AbortSignal.timeout(2000) })).status).toBe(200);
    const res = await refused;
    expect(res.status).toBe(400);
    expect(res.errors).toEqual([expect.objectContaining({ message: "Syntax Error: Document contains more that 10000 tokens. Parsing aborted.", extensions: expect.objectContaining({ code: "GRAPHQL_PARSE_FAILED" }) })]);
  });

  it("item 7: __typename counts: 101 aliased __typename break the alias limit, 500 copies the repeat limit (graphql-cop)", async () => {
    const aliased = await graphql(t.baseUrl, `query Cop { ${Array.from({ length: 101 }, (_, i) => `t${i}: __typename`).join(" ")} }`);
    expect(aliased.status).toBe(400);
    expect(aliased.errors?.map((e) => e.message)).toEqual(['Operation "Cop" uses 101 aliases; the maximum is 30']);
    const copies = await graphql(t.baseUrl, `query cop { ${"__typename \n".repeat(500)} }`);
    expect(copies.status).toBe(400);
    expect(copies.errors?.map((e) => e.message)).toEqual(['Operation "cop" selects one field or fragment 500 times in one selection set; the maximum is 3']);
    expect((await graphql(t.baseUrl, `{ __typename me { __typename id } }`)).status).toBe(200);
  });

  it("answers a 5 MB body with 413 and a JSON error", async () => {
    const res = await post({ query: `{ _service { sdl } }`, variables: { pad: "x".repeat(5 * 1024 * 1024) } });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("SECURITY 45: refuses a batched array with 400", async () => {
    const res = await post([{ query: "{ _service { sdl } }" }, { query: "{ _service { sdl } }" }]);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/batching/i);
  });

  it("answers malformed JSON with 400", async () => {
    const res = await post("{not json");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe("BAD_REQUEST");
  });

  it("SECURITY 46: a GET with Content-Type message/x gets 415, a POST of it 400", async () => {
    const get = await fetch(`${t.baseUrl}/graphql?query=${encodeURIComponent("{ __typename }")}`, { headers: { "content-type": "message/x" } });
    expect(get.status).toBe(415);
    const post = await fetch(`${t.baseUrl}/graphql`, { method: "POST", headers: { "content-type": "message/x", "apollo-require-preflight": "true" }, body: "{}" });
    expect(post.status).toBe(400);
  });

  it("refuses a GET without a CSRF-safe header, and a text/plain POST", async () => {
    const get = await fetch(`${t.baseUrl}/graphql?query=${encodeURIComponent("{ _service { sdl } }")}`);
    expect(get.status).toBe(400);
    const plain = await fetch(`${t.baseUrl}/graphql`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: "{ _service { sdl } }" }) });
    expect(plain.status).toBe(400);
  });

  it("SECURITY 46: refuses a mutation over GET", async () => {
    const query = `mutation { resendVerificationEmail(email: "a@example.test") }`;
    const res = await fetch(`${t.baseUrl}/graphql?query=${encodeURIComponent(query)}`, { headers: { "apollo-require-preflight": "true" } });
    expect(res.status).toBe(405);
    const body = (await res.json()) as { errors: { message: string }[] };
    expect(body.errors[0]?.message).toBe("GET requests only support query operations, not mutation operations");
  });
});

describe("metrics", () => {
  it("counts GraphQL operations by name and outcome, beside process metrics", async () => {
    const before = await metricValue(t.baseUrl, "graphql_operations_total", { operation: "SubgraphSdl", outcome: "success" });
    await graphql(t.baseUrl, SubgraphSdlDocument);
    expect(await metricValue(t.baseUrl, "graphql_operations_total", { operation: "SubgraphSdl", outcome: "success" })).toBe(before + 1);
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain('graphql_operation_duration_seconds_bucket{le="0.005",operation="SubgraphSdl",type="query"}');
  });

  it("item 9: junk operation names cannot push the contract's operations out of their labels", async () => {
    for (let i = 0; i < 600; i += 1) await graphql(t.baseUrl, `query Junk${i} { __typename }`);
    const before = await metricValue(t.baseUrl, "graphql_operations_total", { operation: "MySessions" });
    await graphql(t.baseUrl, `query MySessions { __typename }`);
    expect(await metricValue(t.baseUrl, "graphql_operations_total", { operation: "MySessions" })).toBe(before + 1);
    expect(await metricValue(t.baseUrl, "graphql_operations_total", { operation: "Junk599" })).toBe(0);
  });
});

describe("client address", () => {
  it("SECURITY 41 and 63: without trusted proxies a spoofed X-Forwarded-For changes nothing (the limit key stays the peer)", async () => {
    const codes: unknown[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await graphql(t.baseUrl, `mutation { resendVerificationEmail(email: "spoof${i}@example.test") }`, undefined, { "x-forwarded-for": `203.0.113.${i}`, "x-user-id": ids[0] as string });
      codes.push(res.errors?.[0]?.extensions?.code ?? "ok");
    }
    // Five per hour per address: six different addresses claimed in the header still count as one.
    expect(codes).toEqual(["ok", "ok", "ok", "ok", "ok", "RATE_LIMITED"]);
  });
});
