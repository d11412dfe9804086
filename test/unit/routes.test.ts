import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RouteTable } from "../../src/http/routes";
import type { Route } from "../../src/modules/module";

const route = (method: Route["method"], path: string, handle: Route["handle"]): Route => ({ method, path, handle });
const answer = (text: string): Route["handle"] => (_request, response) => void response.writeHead(200, { "content-type": "text/plain" }).end(text);

it("a method and path that two modules serve stops the start, naming both", () => {
  expect(() => new RouteTable([{ name: "kyc", routes: [route("POST", "/webhooks/sumsub", answer("a"))] }, { name: "wallets", routes: [route("POST", "/webhooks/sumsub", answer("b"))] }])).toThrow(
    "The route POST /webhooks/sumsub is served by both kyc and wallets",
  );
  expect(() => new RouteTable([{ name: "kyc", routes: [route("POST", "/x", answer("a")), route("GET", "/x", answer("b"))] }])).not.toThrow();
});

describe("serving over node:http", () => {
  let server: Server;
  let base: string;
  const failures: unknown[] = [];
  beforeAll(async () => {
    const table = new RouteTable([
      { name: "sessions", routes: [route("GET", "/.well-known/jwks.json", answer("keys"))] },
      { name: "kyc", routes: [route("POST", "/webhooks/sumsub", async () => Promise.reject(new Error("provider signature check failed")))] },
      { name: "users" },
    ]);
    server = createServer((request, response) => {
      const served = table.serve(request, response, "req-1", (error: unknown) => {
        failures.push(error);
        response.writeHead(500).end();
      });
      if (!served) response.writeHead(404).end("none");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("serves a route by method and exact path, ignoring the query", async () => {
    const response = await fetch(`${base}/.well-known/jwks.json?x=1`);
    expect([response.status, await response.text()]).toEqual([200, "keys"]);
    expect((await fetch(`${base}/.well-known/jwks.json`, { method: "HEAD" })).status).toBe(200);
  });

  it("leaves other methods and paths to the server", async () => {
    expect((await fetch(`${base}/.well-known/jwks.json`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${base}/.well-known/jwks.json/`)).status).toBe(404);
    expect((await fetch(`${base}/webhooks/sumsub`)).status).toBe(404);
  });

  it("a handler that fails is handed to the server's failure path", async () => {
    expect((await fetch(`${base}/webhooks/sumsub`, { method: "POST", body: "{}" })).status).toBe(500);
    expect(failures).toEqual([new Error("provider signature check failed")]);
  });
});
