import { createHash } from "node:crypto";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import {
  CheckPermissionDocument,
  CheckPermissionsDocument,
  CreatePolicyDocument,
  CreateServiceClientDocument,
  DeletePolicyDocument,
  DisableServiceClientDocument,
  LogoutDocument,
  MeDocument,
  MyPermissionsDocument,
  RotateServiceClientSecretDocument,
} from "../support/generated/operations";
import { graphql } from "../support/graphql";
import { bearer, codeOf, fromNewIp, useApp, type SignedIn } from "../support/harness";
import { waitUntil } from "../support/wait";
import { runOperation, wsClient } from "../support/ws";

const h = useApp();
const ISSUER = "https://id.example.test"; // TEST_ENV's PUBLIC_URL

let admin: SignedIn;
beforeAll(async () => {
  admin = await h.withRole("admin");
});

interface Created {
  id: string;
  clientId: string;
  secret: string;
}

async function createClient(scopes = ["authz:check"], name = "reporting service"): Promise<Created> {
  const res = await h.gql(CreateServiceClientDocument, { input: { name, scopes } }, admin.headers);
  const created = res.data?.createServiceClient;
  if (!created) throw new Error(`createServiceClient failed: ${JSON.stringify(res.errors)}`);
  return { id: created.client.id, clientId: created.client.clientId, secret: created.clientSecret };
}

/** RFC 6749 §2.3.1: each part form-urlencoded, then joined and base64-encoded. */
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${new URLSearchParams({ a: id }).toString().slice(2)}:${new URLSearchParams({ a: secret }).toString().slice(2)}`).toString("base64")}` });

interface OAuthAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function post(path: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<OAuthAnswer> {
  const response = await fetch(`${h.t.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...fromNewIp(), ...headers },
    body: typeof form === "string" ? form : new URLSearchParams(form).toString(),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const tokenFor = async (client: Created, form: Record<string, string> = {}) => {
  const answer = await post("/oauth/token", { grant_type: "client_credentials", ...form }, basic(client.clientId, client.secret));
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
};
const introspect = (token: string, caller: Created) => post("/oauth/introspect", { token }, basic(caller.clientId, caller.secret));

describe("managing service clients", () => {
  it("create answers the secret once; the database keeps only its SHA-256; rotation and disabling emit their events and audit records", async () => {
    const res = await h.gql(CreateServiceClientDocument, { input: { name: "  ledger  ", scopes: ["trading_accounts:session", "authz:check", "authz:check"] } }, admin.headers);
    const created = res.data?.createServiceClient;
    expect(created?.client).toMatchObject({ name: "ledger", scopes: ["authz:check", "trading_accounts:session"], createdAt: expect.any(String) });
    expect(created?.client.clientId).toMatch(/^svc_[A-Za-z0-9_-]{22}$/);
    expect(created?.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { id, clientId } = created?.client as { id: string; clientId: string };
    const secret = created?.clientSecret as string;
    const row = await h.prisma.serviceClient.findUniqueOrThrow({ where: { id } });
    expect(row.secretHash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.createdBy).toBe(admin.user.id);

    const rotated = (await h.gql(RotateServiceClientSecretDocument, { id }, admin.headers)).data?.rotateServiceClientSecret;
    expect(rotated?.client).toEqual({ id, clientId });
    expect(rotated?.clientSecret).not.toBe(secret);
    const afterRotation = await h.prisma.serviceClient.findUniqueOrThrow({ where: { id } });
    expect(afterRotation.secretHash).toBe(createHash("sha256").update(rotated?.clientSecret as string).digest("hex"));
    expect(afterRotation.secretRotatedAt).toBeInstanceOf(Date);

    expect((await h.gql(DisableServiceClientDocument, { id }, admin.headers)).data?.disableServiceClient).toBe(true);
    expect((await h.gql(DisableServiceClientDocument, { id }, admin.headers)).data?.disableServiceClient).toBe(true); // again: nothing changes
    expect((await h.prisma.serviceClient.findUniqueOrThrow({ where: { id } })).disabledAt).toBeInstanceOf(Date);
    expect(codeOf(await h.gql(RotateServiceClientSecretDocument, { id }, admin.headers))).toBe("BAD_USER_INPUT");

    const events = await h.prisma.outboxEvent.findMany({ where: { destination: "user-events", aggregateId: id }, orderBy: { seq: "asc" } });
    expect(events.map((e) => e.name)).toEqual(["service_client.created", "service_client.secret_rotated", "service_client.disabled"]);
    expect((events[0]?.payload as { data: unknown }).data).toEqual({ clientId, name: "ledger", scopes: ["authz:check", "trading_accounts:session"], by: admin.user.id });
    const audits = await h.audit({ subjectType: "service_client", subjectId: id });
    expect(audits.map((a) => [a.action, a.outcome, a.actorId])).toEqual([
      ["service_client.create", "success", admin.user.id],
      ["service_client.rotate_secret", "success", admin.user.id],
      ["service_client.disable", "success", admin.user.id],
    ]);
    const everything = JSON.stringify([events, audits], (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
    for (const s of [secret, rotated?.clientSecret as string]) expect(everything).not.toContain(s);
  });

  it("needs service_clients:write (a trader is FORBIDDEN, anonymous UNAUTHENTICATED); scopes and name are checked, naming the field", async () => {
    const trader = await h.signedIn();
    const input = { name: "x", scopes: ["authz:check"] };
    expect(codeOf(await h.gql(CreateServiceClientDocument, { input }, trader.headers))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(CreateServiceClientDocument, { input }))).toBe("UNAUTHENTICATED");
    const fieldOf = async (name: string, scopes: string[]) => {
      const res = await h.gql(CreateServiceClientDocument, { input: { name, scopes } }, admin.headers);
      expect(codeOf(res)).toBe("BAD_USER_INPUT");
      return (res.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field);
    };
    expect(await fieldOf("x", ["Authz:Check"])).toEqual(["input.scopes"]);
    expect(await fieldOf("x", ["authz"])).toEqual(["input.scopes"]);
    expect(await fieldOf("x", ["authz:check:more"])).toEqual(["input.scopes"]);
    expect(await fieldOf("x", [])).toEqual(["input.scopes"]);
    expect(await fieldOf("   ", ["authz:check"])).toEqual(["input.name"]);
    expect(codeOf(await h.gql(DisableServiceClientDocument, { id: "not-a-uuid" }, admin.headers))).toBe("BAD_USER_INPUT");
    expect(codeOf(await h.gql(DisableServiceClientDocument, { id: crypto.randomUUID() }, admin.headers))).toBe("NOT_FOUND");
  });
});

describe("POST /oauth/token (client credentials)", () => {
  it("answers a Bearer token with client_secret_basic and with client_secret_post, all the client's scopes unless fewer are asked, never cached", async () => {
    const client = await createClient(["authz:check", "reports:read"]);
    const viaBasic = await post("/oauth/token", { grant_type: "client_credentials" }, basic(client.clientId, client.secret));
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 300, scope: "authz:check reports:read" });
    expect(viaBasic.headers.get("cache-control")).toBe("no-store");
    expect(viaBasic.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Object.keys(viaBasic.body)).not.toContain("refresh_token");
    const viaPost = await post("/oauth/token", { grant_type: "client_credentials", client_id: client.clientId, client_secret: client.secret, scope: "reports:read" });
    expect(viaPost.body).toMatchObject({ token_type: "Bearer", scope: "reports:read" });
    expect(decodeJwt(viaPost.body.access_token as string).scope).toBe("reports:read");
    const audits = await h.audit({ action: "service_client.token", subjectId: client.id });
    expect(audits.map((a) => [a.actorType, a.actorId])).toEqual([
      ["service", client.clientId],
      ["service", client.clientId],
    ]);
  });

  it("the token is an RFC 9068 JWT (typ at+jwt; sub = client_id; scope, iss, aud, iat, exp, jti) that verifies against the JWKS", async () => {
    const client = await createClient(["authz:check"]);
    const token = await tokenFor(client);
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: "at+jwt", alg: "ES256", kid: expect.any(String) });
    const claims = decodeJwt(token);
    expect(claims).toEqual({ sub: client.clientId, client_id: client.clientId, scope: "authz:check", iss: ISSUER, aud: "identity-platform", iat: expect.any(Number), exp: expect.any(Number), jti: expect.any(String) });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    const jwks = createRemoteJWKSet(new URL(`${h.t.baseUrl}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: "identity-platform", typ: "at+jwt", currentDate: h.clock.now() });
    expect([payload.sub, protectedHeader.typ]).toEqual([client.clientId, "at+jwt"]);
  });

  it("invalid_client (401, WWW-Authenticate: Basic): no authentication, a wrong secret by either method, an unknown client, a malformed header", async () => {
    const client = await createClient();
    const refusals = [
      await post("/oauth/token", { grant_type: "client_credentials" }),
      await post("/oauth/token", { grant_type: "client_credentials", client_id: client.clientId }),
      await post("/oauth/token", { grant_type: "client_credentials" }, basic(client.clientId, `${client.secret}x`)),
      await post("/oauth/token", { grant_type: "client_credentials", client_id: client.clientId, client_secret: "wrong" }),
      await post("/oauth/token", { grant_type: "client_credentials" }, basic("svc_unknown", client.secret)),
      await post("/oauth/token", { grant_type: "client_credentials" }, { authorization: "Basic !!!" }),
      await post("/oauth/token", { grant_type: "client_credentials" }, { authorization: `Bearer ${client.secret}` }),
    ];
    for (const refusal of refusals) {
      expect([refusal.status, refusal.body.error, refusal.headers.get("www-authenticate")]).toEqual([401, "invalid_client", 'Basic realm="identity", charset="UTF-8"']);
      expect(refusal.headers.get("cache-control")).toBe("no-store");
    }
    // Recorded in the background (a known id's refusal answers as fast as an unknown one's).
    const failures = await h.auditedAtLeast(2, { action: "service_client.authenticate", subjectId: client.id });
    expect(failures.map((a) => [a.outcome, (a.metadata as { reason: string }).reason])).toEqual([
      ["failure", "wrong_secret"],
      ["failure", "wrong_secret"],
    ]);
  });

  it("invalid_request, unsupported_grant_type and invalid_scope (400)", async () => {
    const client = await createClient(["authz:check"]);
    const auth = basic(client.clientId, client.secret);
    const cases: [string, Promise<OAuthAnswer>][] = [
      ["invalid_request", post("/oauth/token", {}, auth)],
      ["invalid_request", post("/oauth/token", "grant_type=client_credentials&grant_type=client_credentials", auth)],
      ["invalid_request", post("/oauth/token", { grant_type: "client_credentials", client_secret: client.secret }, auth)],
      ["invalid_request", post("/oauth/token", { grant_type: "client_credentials", client_id: "svc_other" }, auth)],
      ["invalid_request", post("/oauth/token", JSON.stringify({ grant_type: "client_credentials" }), { ...auth, "content-type": "application/json" })],
      ["invalid_request", post("/oauth/token", `grant_type=client_credentials&pad=${"x".repeat(20_000)}`, auth)],
      ["unsupported_grant_type", post("/oauth/token", { grant_type: "password", username: "a", password: "b" }, auth)],
      ["unsupported_grant_type", post("/oauth/token", { grant_type: "refresh_token", refresh_token: "x" }, auth)],
      ["invalid_scope", post("/oauth/token", { grant_type: "client_credentials", scope: "authz:check users:suspend" }, auth)],
    ];
    for (const [error, answer] of cases) {
      const { status, body } = await answer;
      expect([status, body.error]).toEqual([400, error]);
      expect(typeof body.error_description).toBe("string");
    }
  });

  it("a disabled client gets invalid_client, and its tokens are refused at once on GraphQL and by introspection", async () => {
    const client = await createClient(["authz:check"]);
    const other = await createClient(["authz:check"]);
    const token = await tokenFor(client);
    const user = await h.signedIn();
    expect((await h.gql(CheckPermissionDocument, { input: { permission: "market:read", userId: user.user.id } }, bearer(token))).data?.checkPermission.allowed).toBe(true);
    await h.gql(DisableServiceClientDocument, { id: client.id }, admin.headers);
    const refused = await h.gql(CheckPermissionDocument, { input: { permission: "market:read", userId: user.user.id } }, bearer(token));
    expect([refused.status, codeOf(refused)]).toEqual([401, "UNAUTHENTICATED"]);
    expect((await introspect(token, other)).body).toEqual({ active: false });
    const again = await post("/oauth/token", { grant_type: "client_credentials" }, basic(client.clientId, client.secret));
    expect([again.status, again.body.error]).toEqual([401, "invalid_client"]);
    const audited = await h.auditedAtLeast(1, { action: "service_client.authenticate", subjectId: client.id });
    expect(audited.map((a) => (a.metadata as { reason: string }).reason)).toEqual(["disabled"]);
  });

  it("a disabling on one instance refuses the client's tokens at once on another that had them cached (pub/sub)", async () => {
    const other = await h.anotherInstance();
    try {
      const client = await createClient(["authz:check"]);
      const token = await tokenFor(client);
      const user = await h.signedIn();
      const onOther = () => graphql(other.baseUrl, CheckPermissionDocument, { input: { permission: "market:read", userId: user.user.id } }, bearer(token));
      expect((await onOther()).data?.checkPermission.allowed).toBe(true); // now remembered there as enabled
      await h.gql(DisableServiceClientDocument, { id: client.id }, admin.headers);
      expect(await waitUntil("the other instance to refuse the token", async () => codeOf(await onOther()) === "UNAUTHENTICATED", 2_000)).toBe(true);
    } finally {
      await other.app.stop();
    }
  });

  it("rotation: the old secret fails at once, the new one works; tokens already issued live on", async () => {
    const client = await createClient(["authz:check"]);
    const token = await tokenFor(client);
    const rotated = (await h.gql(RotateServiceClientSecretDocument, { id: client.id }, admin.headers)).data?.rotateServiceClientSecret;
    const old = await post("/oauth/token", { grant_type: "client_credentials" }, basic(client.clientId, client.secret));
    expect([old.status, old.body.error]).toEqual([401, "invalid_client"]);
    expect(await tokenFor({ ...client, secret: rotated?.clientSecret as string })).toEqual(expect.any(String));
    expect((await introspect(token, { ...client, secret: rotated?.clientSecret as string })).body.active).toBe(true);
  });

  it("rate limits: 60 tokens a minute per client, 120 requests a minute per address; beyond, 429 with Retry-After and slow_down", async () => {
    const client = await createClient(["authz:check"]);
    for (let i = 0; i < 60; i += 1) await tokenFor(client);
    const limited = await post("/oauth/token", { grant_type: "client_credentials" }, basic(client.clientId, client.secret));
    expect([limited.status, limited.body.error]).toEqual([429, "slow_down"]);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // Per address: made-up credentials from one address count too.
    const address = fromNewIp();
    for (let i = 0; i < 120; i += 1) expect((await post("/oauth/token", { grant_type: "client_credentials" }, address)).status).toBe(401);
    const fresh = await createClient(["authz:check"]);
    const blocked = await post("/oauth/token", { grant_type: "client_credentials" }, { ...address, ...basic(fresh.clientId, fresh.secret) });
    expect([blocked.status, blocked.body.error]).toEqual([429, "slow_down"]);
  });

  it("serves its RFC 8414 metadata; GET on the token endpoint is not a route", async () => {
    const metadata = (await (await fetch(`${h.t.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth/token`,
      introspection_endpoint: `${ISSUER}/oauth/introspect`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    });
    expect((await fetch(`${h.t.baseUrl}/oauth/token`)).status).toBe(404);
  });
});

describe("POST /oauth/introspect (RFC 7662)", () => {
  it("active for a live client token and a live user token; only active: false for garbage, an expired token and an ended session's", async () => {
    const caller = await createClient(["authz:check"]);
    const client = await createClient(["reports:read"]);
    const token = await tokenFor(client);
    const live = await introspect(token, caller);
    expect(live.status).toBe(200);
    expect(live.headers.get("cache-control")).toBe("no-store");
    const claims = decodeJwt(token);
    expect(live.body).toEqual({ active: true, sub: client.clientId, client_id: client.clientId, scope: "reports:read", exp: claims.exp, iat: claims.iat, iss: ISSUER, aud: "identity-platform", jti: claims.jti, token_type: "Bearer" });
    // client_secret_post works for the caller too.
    expect((await post("/oauth/introspect", { token, client_id: caller.clientId, client_secret: caller.secret })).body.active).toBe(true);

    const user = await h.signedIn();
    const userClaims = decodeJwt(user.accessToken);
    expect((await introspect(user.accessToken, caller)).body).toEqual({ active: true, sub: user.user.id, sid: user.session.id, exp: userClaims.exp, iat: userClaims.iat, iss: ISSUER, aud: "identity-platform", jti: userClaims.jti, token_type: "Bearer" });

    for (const garbage of ["garbage", `${token.slice(0, -4)}AAAA`, "a.b.c", "x".repeat(5000)]) expect((await introspect(garbage, caller)).body).toEqual({ active: false });
    await h.gql(LogoutDocument, {}, user.headers);
    expect((await introspect(user.accessToken, caller)).body).toEqual({ active: false });
    h.clock.offsetMs = 301_000; // past CLIENT_TOKEN_TTL_S
    expect((await introspect(token, caller)).body).toEqual({ active: false });
  });

  it("an unauthenticated caller gets invalid_client (401); no token is invalid_request", async () => {
    const client = await createClient();
    const token = await tokenFor(client);
    const anonymous = await post("/oauth/introspect", { token });
    expect([anonymous.status, anonymous.body.error, anonymous.headers.get("www-authenticate")]).toEqual([401, "invalid_client", 'Basic realm="identity", charset="UTF-8"']);
    // A bearer token is not client authentication.
    expect((await post("/oauth/introspect", { token }, bearer(token))).status).toBe(401);
    const missing = await post("/oauth/introspect", {}, basic(client.clientId, client.secret));
    expect([missing.status, missing.body.error]).toEqual([400, "invalid_request"]);
  });
});

describe("service clients on GraphQL", () => {
  it("checkPermission with authz:check checks for the user it names; without userId BAD_USER_INPUT naming it; a spoofed x-user-id is ignored", async () => {
    const client = await createClient(["authz:check"]);
    const headers = bearer(await tokenFor(client));
    const user = await h.signedIn();
    expect((await h.gql(CheckPermissionDocument, { input: { permission: "market:read", userId: user.user.id } }, headers)).data?.checkPermission).toEqual({ allowed: true, reason: "role trader grants market:read" });
    expect((await h.gql(CheckPermissionDocument, { input: { permission: "users:suspend", userId: user.user.id } }, headers)).data?.checkPermission.allowed).toBe(false);
    const batch = await h.gql(CheckPermissionsDocument, { inputs: [{ permission: "market:read", userId: user.user.id }, { permission: "market:read" }] }, headers);
    expect(batch.data?.checkPermissions.map((d) => d.allowed)).toBeUndefined();
    expect(batch.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "inputs[1].userId" }] });
    const missing = await h.gql(CheckPermissionDocument, { input: { permission: "market:read" } }, { ...headers, "x-user-id": user.user.id });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", fields: [{ field: "input.userId" }] });
  });

  it("a client without authz:check is FORBIDDEN; so is any client on a field for users only; a user on a client's field passes as a user", async () => {
    const client = await createClient(["reports:read"]);
    const headers = bearer(await tokenFor(client));
    const user = await h.signedIn();
    expect(codeOf(await h.gql(CheckPermissionDocument, { input: { permission: "market:read", userId: user.user.id } }, headers))).toBe("FORBIDDEN");
    const checker = bearer(await tokenFor(await createClient(["authz:check"])));
    for (const auth of [headers, checker]) {
      expect(codeOf(await h.gql(MeDocument, {}, auth))).toBe("FORBIDDEN");
      expect(codeOf(await h.gql(MyPermissionsDocument, {}, auth))).toBe("FORBIDDEN");
      expect(codeOf(await h.gql(CreateServiceClientDocument, { input: { name: "x", scopes: ["authz:check"] } }, auth))).toBe("FORBIDDEN");
    }
    // A user needs no scope on a field that lists signed-in beside it.
    expect((await h.gql(CheckPermissionDocument, { input: { permission: "market:read" } }, user.headers)).data?.checkPermission.allowed).toBe(true);
  });

  it("over WebSocket too: a client's token passes checkPermission; once the client is disabled the next operation closes the socket (4403)", async () => {
    const client = await createClient(["authz:check"]);
    const user = await h.signedIn();
    const socket = wsClient(`${h.t.baseUrl.replace("http", "ws")}/graphql`, { authorization: `Bearer ${await tokenFor(client)}` });
    try {
      const query = `{ checkPermission(input: { permission: "market:read", userId: "${user.user.id}" }) { allowed } }`;
      expect(await runOperation(socket, query)).toEqual({ data: { checkPermission: { allowed: true } } });
      await h.gql(DisableServiceClientDocument, { id: client.id }, admin.headers);
      expect((await runOperation(socket, query)).closeCode).toBe(4403);
    } finally {
      await socket.dispose();
    }
  });

  it("a DENY policy on client:<clientId> takes its scope away at once, on GraphQL and in introspection; the policy's deletion gives it back", async () => {
    const client = await createClient(["authz:check", "reports:read"]);
    const other = await createClient(["authz:check"]);
    const token = await tokenFor(client);
    const headers = bearer(token);
    const user = await h.signedIn();
    const check = () => h.gql(CheckPermissionDocument, { input: { permission: "market:read", userId: user.user.id } }, headers);
    const policy = (await h.gql(CreatePolicyDocument, { input: { name: `deny-client-${Date.now()}`, effect: "DENY", subjects: [`client:${client.clientId}`], actions: ["authz:check"] } }, admin.headers)).data?.createPolicy;
    expect(codeOf(await check())).toBe("FORBIDDEN");
    expect((await introspect(token, other)).body).toMatchObject({ active: true, scope: "reports:read" });
    await h.gql(DeletePolicyDocument, { id: policy?.id as string }, admin.headers);
    expect((await check()).data?.checkPermission.allowed).toBe(true);
    expect((await introspect(token, other)).body).toMatchObject({ active: true, scope: "authz:check reports:read" });
  });
});

describe("a standard OAuth client (openid-client 6)", () => {
  it("gets a token with the client credentials grant (client_secret_basic and client_secret_post) and introspects it", async () => {
    const oidc = await import("openid-client");
    const created = await createClient(["authz:check", "reports:read"]);
    const server = { issuer: ISSUER, token_endpoint: `${h.t.baseUrl}/oauth/token`, introspection_endpoint: `${h.t.baseUrl}/oauth/introspect` };
    for (const auth of [oidc.ClientSecretBasic(created.secret), oidc.ClientSecretPost(created.secret)]) {
      const config = new oidc.Configuration(server, created.clientId, undefined, auth);
      oidc.allowInsecureRequests(config); // plain http on loopback, in this test only
      const tokens = await oidc.clientCredentialsGrant(config, { scope: "reports:read" });
      expect(tokens).toMatchObject({ token_type: "bearer", scope: "reports:read", expires_in: 300 });
      expect(tokens.expiresIn()).toBeLessThanOrEqual(300);
      const introspection = await oidc.tokenIntrospection(config, tokens.access_token);
      expect(introspection).toMatchObject({ active: true, client_id: created.clientId, sub: created.clientId, scope: "reports:read", token_type: "Bearer" });
      expect((await oidc.tokenIntrospection(config, "not-a-token")).active).toBe(false);
    }
    const wrong = new oidc.Configuration(server, created.clientId, undefined, oidc.ClientSecretBasic("wrong"));
    oidc.allowInsecureRequests(wrong);
    // A 401 with WWW-Authenticate is surfaced as the challenge (RFC 6749 §5.2's invalid_client answer).
    await expect(oidc.clientCredentialsGrant(wrong)).rejects.toMatchObject({ code: "OAUTH_WWW_AUTHENTICATE_CHALLENGE", status: 401, cause: [{ scheme: "basic", parameters: { realm: "identity" } }] });
  });
});
