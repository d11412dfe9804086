import { request } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { databaseExists, dropDatabase } from "../support/db";
import { REDIS_URL, freshDatabaseUrl } from "../support/env";
import { descendants, freePort, isRunning, spawnNpmStart, spawnServer, type ServerProcess } from "../support/process";
import { waitUntil } from "../support/wait";

const READY = /identity subgraph ready/;
const SDL = JSON.stringify({ query: "{ _service { sdl } }" });

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function stopWithSigterm(server: ServerProcess): Promise<number | null> {
  server.child.kill("SIGTERM");
  return (await server.exited).code;
}

describe("configuration errors", () => {
  it("stops with a message naming each bad variable and its expected form, no stack trace", async () => {
    const server = spawnServer({ PORT: "http", GRAPHQL_MAX_DEPTH: "-3", DATABASE_URL: "postgresql://127.0.0.1/x" });
    const { code } = await server.exited;
    expect(code).toBe(78);
    const out = server.output();
    expect(out).toContain('PORT: expected an integer between 1 and 65535 (got "http")');
    expect(out).toContain('GRAPHQL_MAX_DEPTH: expected an integer between 1 and 100 (got "-3")');
    expect(out).toContain("DATABASE_URL and REDIS_URL: set both (service mode) or neither (embedded mode)");
    expect(out).not.toMatch(/\n\s+at /);
  });

  it("refuses embedded mode in production", async () => {
    const server = spawnServer({ NODE_ENV: "production" });
    expect((await server.exited).code).toBe(78);
    expect(server.output()).toContain("required when NODE_ENV=production");
  });
});

describe("embedded mode (no DATABASE_URL, no REDIS_URL)", () => {
  let dataDir: string;
  let server: ServerProcess;
  let base: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "identity-embedded-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnServer({ PORT: String(port), EMBEDDED_DATA_DIR: dataDir });
    await server.waitFor(READY, 60_000);
  }, 70_000);
  afterAll(async () => {
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("says which mode it runs in and how to switch", () => {
    expect(server.output()).toMatch(/"mode":"embedded".*set DATABASE_URL \(PostgreSQL\) and REDIS_URL/);
  });

  it("is ready and answers _service { sdl }", async () => {
    expect(await getJson(`${base}/health/ready`)).toEqual({ status: 200, body: { status: "ok", checks: { database: "up" } } });
    const res = await fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: SDL });
    expect(((await res.json()) as { data: { _service: { sdl: string } } }).data._service.sdl).toContain('@key(fields: "id")');
  });

  it("exits 0 on SIGTERM", async () => {
    expect(await stopWithSigterm(server)).toBe(0);
  });

  it("relays a committed notification to the log, an event to internal consumers (of runSql too), and chains the audit record", async () => {
    const child = spawnServer({ EMBEDDED_DATA_DIR: path.join(dataDir, "events"), OUTBOX_POLL_INTERVAL_MS: "100" }, "test/support/embedded-events.ts");
    expect((await child.exited).code).toBe(0);
    const lines = child.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === "notification password-reset to dev@example.test")?.notification).toEqual({
      to: "dev@example.test",
      template: "password-reset",
      locale: "en",
      link: "http://localhost:4001/reset?token=tok",
    });
    const { result } = lines.find((l) => l.result) as { result: { seen: string[]; rolledBack: string; users: string[]; metrics: string[] } };
    expect(result.seen).toEqual(["dev@example.test"]);
    // The pg-path unit of work (runSql) over PGlite: the committed one's user and event, nothing of the rolled-back one.
    expect(result.rolledBack).toBe("rolled back");
    expect(result.users).toEqual(["dev@example.test"]);
    expect(result.metrics).toEqual(expect.arrayContaining(["outbox_pending 0", "outbox_parked 0", 'outbox_published_total{destination="notifications"} 1']));
  }, 60_000);
});

describe("service mode (PostgreSQL + Redis)", () => {
  const databaseUrl = freshDatabaseUrl("proc");
  let server: ServerProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    server = spawnServer({ PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "info" });
    await server.waitFor(READY);
  });
  afterAll(async () => {
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
    await dropDatabase(databaseUrl);
  });

  it("creates the database it was given and reports it ready", async () => {
    expect(await databaseExists(databaseUrl)).toBe(true);
    expect(server.output()).toContain('"mode":"service"');
    expect(await getJson(`http://127.0.0.1:${port}/health/ready`)).toEqual({ status: 200, body: { status: "ok", checks: { database: "up", redis: "up" } } });
  });

  it("finishes in-flight requests on SIGTERM, then exits 0", async () => {
    // A request whose body is still arriving when the signal lands.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/graphql", method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.write(SDL.slice(0, 10));
      setTimeout(() => {
        server.child.kill("SIGTERM");
        setTimeout(() => req.end(SDL.slice(10)), 500);
      }, 200);
    });
    const { status, body } = await response;
    expect(status).toBe(200);
    expect(body).toContain("_service");
    expect((await server.exited).code).toBe(0);
    expect(server.output()).toMatch(/"signal":"SIGTERM".*shutting down/);
  });
});

describe("npm start under a process manager (service mode)", () => {
  const databaseUrl = freshDatabaseUrl("npm");
  let service: number[] = [];

  afterAll(async () => {
    for (const pid of service.filter(isRunning)) process.kill(pid, "SIGKILL");
    await dropDatabase(databaseUrl);
  });

  it("SIGTERM to npm, not to the service, still stops the service gracefully; npm exits after it", async () => {
    const port = await freePort();
    const live = () => fetch(`http://127.0.0.1:${port}/health/live`);
    const npm = spawnNpmStart({ PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL, LOG_LEVEL: "info" });
    // The build (prestart) comes first: a type-checked tsc build takes over a minute on two busy cores.
    await npm.waitFor(READY, 180_000);
    expect((await live()).status).toBe(200);
    service = descendants(npm.child.pid as number);
    npm.child.kill("SIGTERM");
    const exit = await npm.exited;
    await waitUntil("every process npm started to end", async () => !service.some(isRunning), 5000);
    await expect(live()).rejects.toThrow();
    expect(npm.output()).toMatch(/"signal":"SIGTERM".*shutting down/);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 210_000);
});
