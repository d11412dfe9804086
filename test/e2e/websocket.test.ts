import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { startTestApp, type TestApp } from "../support/app";

let t: TestApp;
let wsUrl: string;
beforeAll(async () => {
  t = await startTestApp({ CORS_ORIGINS: "https://app.example.test" });
  wsUrl = `${t.baseUrl.replace("http", "ws")}/graphql`;
});
afterAll(() => t.stop());

/** Opens a raw socket and reports whether the handshake succeeded, and the HTTP status if not. */
function handshake(protocols: string[], headers: Record<string, string> = {}): Promise<{ opened: boolean; status?: number; protocol?: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(wsUrl, protocols, { headers });
    socket.on("open", () => {
      resolve({ opened: true, protocol: socket.protocol });
      socket.close();
    });
    socket.on("unexpected-response", (_req, res) => {
      resolve({ opened: false, status: res.statusCode });
      socket.terminate();
    });
    socket.on("error", () => resolve({ opened: false }));
  });
}

function client(connectionParams?: Record<string, unknown>): Client {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

/** Runs one operation; resolves with its results and errors, or the close event. */
function run(c: Client, query: string): Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[]; closeCode?: number }> {
  return new Promise((resolve) => {
    let last: { data?: unknown } = {};
    c.subscribe(
      { query },
      {
        next: (value) => (last = value as { data?: unknown }),
        error: (error) => {
          if (Array.isArray(error)) resolve({ errors: error });
          else resolve({ closeCode: (error as { code?: number }).code });
        },
        complete: () => resolve(last),
      },
    );
  });
}

it("accepts graphql-transport-ws and runs an operation", async () => {
  expect(await handshake(["graphql-transport-ws"])).toEqual({ opened: true, protocol: "graphql-transport-ws" });
  const c = client();
  const result = await run(c, "{ _service { sdl } }");
  expect(JSON.stringify(result.data)).toContain("@key");
  await c.dispose();
});

it("refuses the legacy graphql-ws subprotocol and no subprotocol at the handshake", async () => {
  expect(await handshake(["graphql-ws"])).toEqual({ opened: false, status: 400 });
  expect(await handshake([])).toEqual({ opened: false, status: 400 });
});

it("refuses a browser Origin that is not allowed, accepts an allowed one", async () => {
  expect(await handshake(["graphql-transport-ws"], { origin: "https://evil.test" })).toEqual({ opened: false, status: 403 });
  expect((await handshake(["graphql-transport-ws"], { origin: "https://app.example.test" })).opened).toBe(true);
});

it("closes with 4403 when connection_init carries a token that does not verify", async () => {
  const c = client({ authorization: "Bearer forged" });
  expect(await run(c, "{ _service { sdl } }")).toEqual({ closeCode: 4403 });
  await c.dispose();
});

it("applies the same limits as HTTP", async () => {
  const c = client();
  const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: _service { sdl }`).join(" ");
  const tooMany = await run(c, `query Many { ${aliases} }`);
  expect(tooMany.errors?.map((e) => e.message)).toContain('Operation "Many" uses 40 aliases; the maximum is 30');
  const deep = await run(c, `query Deep ${"{ a ".repeat(20)}${"}".repeat(20)}`);
  expect(deep.errors?.map((e) => e.message)).toContain('Operation "Deep" is 20 levels deep; the maximum depth is 12');
  await c.dispose();
});

it("formats execution errors as over HTTP", async () => {
  const c = client();
  const result = await run(c, `{ user(id: "nope") { id } }`);
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "id", message: "must be a UUID" }] });
  await c.dispose();
});
