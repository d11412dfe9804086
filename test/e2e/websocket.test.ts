import WebSocket from "ws";
import { startTestApp, type TestApp } from "../support/app";
import { waitUntil } from "../support/wait";
import { rawSocket, runOperation, wsClient } from "../support/ws";

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

const client = (connectionParams?: Record<string, unknown>) => wsClient(wsUrl, connectionParams);
const run = runOperation;

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
  // Each operation is a request with an id of its own, refused before it ran or not.
  const refused = await run(c, `{ nope }`);
  const id = /^[0-9a-f-]{36}$/;
  expect([result.errors?.[0]?.extensions?.requestId, refused.errors?.[0]?.extensions?.requestId]).toEqual([expect.stringMatching(id), expect.stringMatching(id)]);
  expect(refused.errors?.[0]?.extensions?.requestId).not.toBe(result.errors?.[0]?.extensions?.requestId);
  await c.dispose();
});

/** 40 fragments, each spreading the next twice: 2^40 selections once expanded, 2 KB as text. */
const FRAGMENT_BOMB = `query Bomb { ...F0 }\n${Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { __typename ...F${i + 1} ...F${i + 1} }`).join("\n")}\nfragment F40 on Query { __typename }`;

it("item 1 (SECURITY 44, 54): the 40-level fragment bomb from an anonymous socket is refused while /health/live keeps answering", async () => {
  const c = client();
  const refused = run(c, FRAGMENT_BOMB);
  const live = await fetch(`${t.baseUrl}/health/live`, { signal: AbortSignal.timeout(2000) });
  expect(live.status).toBe(200);
  const result = await refused;
  expect(result.errors?.map((e) => e.message)).toContain('Operation "Bomb" selects 2199023255551 fields once fragments are expanded; the maximum is 5000');
  expect(result.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  await c.dispose();
}, 5000);

it("both transports share the rule list: single-use root fields counted once through fragments", async () => {
  const c = client();
  const twice = await run(c, `mutation Twice { ...A ...B } fragment A on Mutation { a: verifyEmail(token: "x") { id } } fragment B on Mutation { b: verifyEmail(token: "y") { id } }`);
  expect(twice.errors?.map((e) => e.message)).toEqual(["At most one of completeMfaLogin, linkTradingAccount, login, refreshTokens, renewTradingAccountSession, resetPassword, rotateTradingAccountCredentials, stepUp, verifyEmail per operation"]);
  await c.dispose();
});

it("item 3: a message over HTTP_BODY_LIMIT_BYTES closes the socket with 1009 before it is parsed", async () => {
  const { socket, closed } = await rawSocket(wsUrl);
  socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: `{ ${"_service { sdl } ".repeat(70_000)} }` } }));
  expect(await closed).toBe(1009);
});

it("item 4 (SECURITY 60): a syntax error is an error message for that operation, the socket stays open, nothing goes to the console", async () => {
  const consoleError = jest.spyOn(console, "error");
  try {
    const { socket, messages, closed } = await rawSocket(wsUrl);
    const injected = '{"level":50,"msg":"forged","time":1}';
    socket.send(JSON.stringify({ id: "bad", type: "subscribe", payload: { query: `{ me(x: """\n${injected}\n""" ` } }));
    socket.send(JSON.stringify({ id: "good", type: "subscribe", payload: { query: "{ __typename }" } }));
    await waitUntil("both answers", async () => (messages.some((m) => (m as { id?: string; type: string }).id === "good" && (m as { type: string }).type === "complete") ? true : undefined));
    const error = messages.find((m) => (m as { id?: string }).id === "bad") as { type: string; payload: { message: string; extensions: { code: string } }[] };
    expect(error.type).toBe("error");
    expect(error.payload[0]?.extensions.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(error.payload[0]?.message).toMatch(/^Syntax Error: /);
    expect(messages).toContainEqual({ id: "good", type: "next", payload: { data: { __typename: "Query" } } });
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close(1000);
    expect(await closed).toBe(1000);
    expect(consoleError).not.toHaveBeenCalled();
    expect(t.logs().some((line) => line.msg === "forged")).toBe(false);
  } finally {
    consoleError.mockRestore();
  }
});

it("an unknown message type closes with 4400 and nothing goes to the console", async () => {
  const consoleError = jest.spyOn(console, "error");
  try {
    const { socket, closed } = await rawSocket(wsUrl);
    socket.send(JSON.stringify({ type: "pong\r\n{\"level\":50}" }));
    expect(await closed).toBe(4400);
    expect(consoleError).not.toHaveBeenCalled();
  } finally {
    consoleError.mockRestore();
  }
});

it("item 6: a document past GRAPHQL_MAX_TOKENS is refused by the parser", async () => {
  const c = client();
  const result = await run(c, `{ ${"_service { sdl } ".repeat(3000)} }`);
  expect(result.errors?.[0]).toMatchObject({ message: "Syntax Error: Document contains more that 10000 tokens. Parsing aborted." /* sic, graphql-js */, extensions: { code: "GRAPHQL_PARSE_FAILED" } });
  await c.dispose();
});

it("a subscription while the schema has no Subscription root is the caller's error (GRAPHQL_VALIDATION_FAILED), not an unexpected one", async () => {
  const c = client();
  const result = await run(c, "subscription { __typename }");
  expect(result.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  expect(t.logs().filter((line) => line.msg === "unexpected error")).toEqual([]);
  await c.dispose();
});
