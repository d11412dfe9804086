import { createHash, createHmac, randomBytes } from "node:crypto";
import { CompactEncrypt, decodeJwt, decodeProtectedHeader } from "jose";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  MySessionsDocument,
  RefreshTokensDocument,
  RegisterDocument,
  RevokeSessionDocument,
} from "../support/generated/operations";
import { PASSWORD, bearer, citextSpellings, codeOf, fromNewIp, newEmail, useApp, type VerifiedUser } from "../support/harness";
import { graphql, metricValue } from "../support/graphql";
import { waitUntil } from "../support/wait";

const h = useApp();
const { clock } = h;
const from = fromNewIp;

/** The code a login attempt is refused with (undefined when it succeeds). */
async function loginCode(email: string, password: string, headers: Record<string, string> = from()) {
  return (await graphql(h.t.baseUrl, LoginDocument, { input: { email, password } }, headers)).errors?.[0]?.extensions?.code;
}

/** The bcrypt comparisons the app has run, at the harness's cost (its own metric, over HTTP). */
const compares = () => metricValue(h.t.baseUrl, "password_hashing_seconds_count", { operation: "compare", cost: "4" });

/** `user` (a new verified user unless given) signed in; every login here is from one device, a Pixel. */
const login = (user?: VerifiedUser) => h.signedIn(user, { deviceName: "Pixel", deviceFingerprint: "fp-1" });

describe("login", () => {
  it("issues a Bearer access token (JWT, at+jwt, kid published in the JWKS) and a refresh token; me answers", async () => {
    const auth = await login();
    const { email } = auth;
    expect(auth).toMatchObject({ tokenType: "Bearer", expiresIn: 900, user: { email } });
    expect(decodeProtectedHeader(auth.accessToken)).toMatchObject({ alg: "ES256", typ: "at+jwt", kid: expect.any(String) });
    const claims = decodeJwt(auth.accessToken);
    expect(claims).toMatchObject({ sub: auth.user.id, sid: auth.session.id, iss: "https://id.example.test", aud: "identity-platform", jti: expect.any(String) });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    const jwks = (await (await fetch(`${h.t.baseUrl}/.well-known/jwks.json`)).json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(auth.accessToken).kid);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    const me = await graphql(h.t.baseUrl, MeDocument, undefined, bearer(auth.accessToken));
    expect(me.data?.me).toMatchObject({ id: auth.user.id, email, emailVerified: true, status: "ACTIVE", roles: ["trader"], mfaEnabled: false });
  });

  it("SECURITY 1 and 2: the same error for an unknown email, a wrong password and an unverified account", async () => {
    const { email } = await h.verifiedUser();
    const pending = newEmail();
    await graphql(h.t.baseUrl, RegisterDocument, { input: { email: pending, password: PASSWORD } }, from());
    const attempt = async (e: string, p: string) => {
      const res = await graphql(h.t.baseUrl, LoginDocument, { input: { email: e, password: p } }, from());
      return { status: res.status, data: res.data, errors: res.errors?.map(({ message, extensions }) => ({ message, code: extensions?.code })) };
    };
    const counted = async (e: string, p: string) => {
      const before = await compares();
      const result = await attempt(e, p);
      return { ...result, compares: (await compares()) - before };
    };
    const unknown = await counted(newEmail(), PASSWORD);
    expect(unknown.errors).toEqual([{ message: "Invalid email or password", code: "UNAUTHENTICATED" }]);
    expect(unknown.compares).toBe(1);
    expect(await counted(email, "Wrong-Horse-42!")).toEqual(unknown);
    expect(await counted(pending, PASSWORD)).toEqual(unknown);
  });

  it("SECURITY 60: records every failure: user.login_failed and an audit row for an account, an audit row without the address for an unknown email", async () => {
    const { email } = await h.verifiedUser();
    const { id } = await h.t.app.platform.database.prisma.user.findUniqueOrThrow({ where: { email } });
    const stranger = newEmail();
    const ip = from();
    await graphql(h.t.baseUrl, LoginDocument, { input: { email, password: "Wrong-Horse-42!" } }, ip);
    await graphql(h.t.baseUrl, LoginDocument, { input: { email: stranger, password: PASSWORD } }, ip);
    const event = await waitUntil("user.login_failed", async () =>
      (await h.queues.jobs("user-events")).find((j) => j.name === "user.login_failed" && (j.data as { aggregateId: string }).aggregateId === id),
    );
    expect((event.data as { data: unknown }).data).toEqual({ reason: "bad_password" });
    const rows = await waitUntil("two audit rows", async () => {
      const found = await h.t.app.platform.database.prisma.auditEvent.findMany({ where: { action: "user.login", outcome: "failure", ipAddress: ip["x-forwarded-for"] } });
      return found.length === 2 ? found : undefined;
    });
    // Recorded in the background, in either order: the unknown email's row (no subject) last.
    expect(rows.map((r) => [r.subjectId, r.metadata]).sort(([a]) => (a === null ? 1 : -1))).toEqual([
      [id, { reason: "bad_password" }],
      [null, { reason: "unknown_account" }],
    ]);
    expect(JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(stranger);
  });

  it("SECURITY 9: a password of 72 bytes plus more never matches (no silent truncation)", async () => {
    const exact = `Aa1!${"x".repeat(68)}`;
    const user = await h.verifiedUser({ password: exact });
    await expect(login({ ...user, password: `${exact}B` })).rejects.toThrow(/login failed/);
    expect((await login(user)).tokenType).toBe("Bearer");
  });
});

describe("login limits", () => {
  it("SECURITY 63: 5 attempts per 15 minutes per account and address; the 6th is RATE_LIMITED with retryAfter", async () => {
    const user = await h.verifiedUser();
    const { email } = user;
    const ip = { "x-forwarded-for": "192.0.2.77" };
    const codes: unknown[] = [];
    for (let i = 0; i < 6; i += 1) codes.push((await graphql(h.t.baseUrl, LoginDocument, { input: { email, password: "Wrong-Horse-42!" } }, ip)).errors?.[0]?.extensions?.code);
    expect(codes).toEqual([...Array(5).fill("UNAUTHENTICATED"), "RATE_LIMITED"]);
    // The owner, from another address, is not locked out.
    expect((await login(user)).tokenType).toBe("Bearer");
  });

  it("SECURITY 63: 100 failures per hour per account from rotating addresses, then RATE_LIMITED for everyone until the window ends", async () => {
    const { email } = await h.verifiedUser();
    for (let i = 0; i < 100; i += 1) await graphql(h.t.baseUrl, LoginDocument, { input: { email, password: "Wrong-Horse-42!" } }, from());
    const res = await graphql(h.t.baseUrl, LoginDocument, { input: { email, password: PASSWORD } }, from());
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
    expect(res.errors?.[0]?.extensions?.retryAfter as number).toBeLessThanOrEqual(3600);
  }, 60_000);

  it("issue 10 item 1: SECURITY 63: of 200 simultaneous wrong passwords from 40 addresses at most 100 reach bcrypt; the others, and then the owner, are RATE_LIMITED", async () => {
    const { email } = await h.verifiedUser();
    const before = await compares();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => loginCode(email, "Wrong-Horse-42!", { "x-forwarded-for": `203.0.113.${i % 40}` })));
    expect((await compares()) - before).toBeLessThanOrEqual(100);
    expect(answers.filter((code) => code === "UNAUTHENTICATED").length).toBeLessThanOrEqual(100);
    expect(answers.filter((code) => code !== "UNAUTHENTICATED" && code !== "RATE_LIMITED")).toEqual([]);
    expect(await loginCode(email, PASSWORD)).toBe("RATE_LIMITED");
  }, 60_000);

  it("issue 10 item 2: one address gets LOGIN_ADDRESS_RATE_LIMIT (100) logins per 15 minutes whatever the emails, then RATE_LIMITED; other addresses are unaffected", async () => {
    const ip = from();
    const codes = new Set<unknown>();
    for (let i = 0; i < 100; i += 1) codes.add(await loginCode(newEmail(), PASSWORD, ip));
    expect([...codes]).toEqual(["UNAUTHENTICATED"]);
    expect(await loginCode(newEmail(), PASSWORD, ip)).toBe("RATE_LIMITED");
    expect(await loginCode(newEmail(), PASSWORD)).toBe("UNAUTHENTICATED");
  }, 60_000);

  it("issue 10 item 10: SECURITY 63: spellings the database takes for one address (İ and i under citext) share its limits, for an account and for an unknown address alike", async () => {
    const known = citextSpellings();
    const user = await h.verifiedUser({ email: known[0] });
    const { email } = user;
    expect((await login({ ...user, email: known[3] as string })).user.email).toBe(email);
    for (const emails of [known, citextSpellings()]) {
      const ip = from();
      const codes: unknown[] = [];
      for (let i = 0; i < 8; i += 1) codes.push(await loginCode(emails[i % 4] as string, "Wrong-Horse-42!", ip));
      expect(codes).toEqual([...Array(5).fill("UNAUTHENTICATED"), ...Array(3).fill("RATE_LIMITED")]);
    }
  });

  it("issue 10 item 1: an attempt counted before bcrypt is given back when it succeeds: the owner's logins never use up the 100 failures", async () => {
    const user = await h.verifiedUser();
    const { email } = user;
    for (let i = 0; i < 99; i += 1) await loginCode(email, "Wrong-Horse-42!");
    for (let i = 0; i < 3; i += 1) expect((await login(user)).tokenType).toBe("Bearer");
    expect(await loginCode(email, "Wrong-Horse-42!")).toBe("UNAUTHENTICATED");
    expect(await loginCode(email, PASSWORD)).toBe("RATE_LIMITED");
  }, 60_000);
});

describe("access tokens", () => {
  it("SECURITY 12, 13, 14, 15: refuse alg none, HS256 with the public key, wrong aud, unknown or traversal kid, an embedded jwk, expired tokens, refresh tokens and a JWE", async () => {
    const auth = await login();
    const [header, payload] = auth.accessToken.split(".") as [string, string];
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const claims = decodeJwt(auth.accessToken);
    const jwks = (await (await fetch(`${h.t.baseUrl}/.well-known/jwks.json`)).json()) as { keys: object[] };
    const hs256 = (() => {
      const h = b64({ alg: "HS256", typ: "at+jwt", kid: decodeProtectedHeader(auth.accessToken).kid });
      const sig = createHmac("sha256", JSON.stringify(jwks.keys[0])).update(`${h}.${payload}`).digest("base64url");
      return `${h}.${payload}.${sig}`;
    })();
    const forged = [
      `${b64({ alg: "none", typ: "at+jwt" })}.${payload}.`,
      hs256,
      `${header}.${b64({ ...claims, aud: "other" })}.${auth.accessToken.split(".")[2]}`,
      `${b64({ ...decodeProtectedHeader(auth.accessToken), kid: "../../etc/passwd" })}.${payload}.${auth.accessToken.split(".")[2]}`,
      `${b64({ ...decodeProtectedHeader(auth.accessToken), kid: "' OR 1=1--", jwk: jwks.keys[0] })}.${payload}.${auth.accessToken.split(".")[2]}`,
      `${header}.${b64({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 })}.${auth.accessToken.split(".")[2]}`,
      auth.refreshToken,
      // SECURITY 15: a JWE (five parts) is never a bearer token.
      await new CompactEncrypt(Buffer.from(payload, "base64url")).setProtectedHeader({ alg: "dir", enc: "A256GCM", typ: "at+jwt" }).encrypt(randomBytes(32)),
    ];
    for (const token of forged) {
      const res = await graphql(h.t.baseUrl, MeDocument, undefined, bearer(token));
      expect({ token, status: res.status, code: res.errors?.[0]?.extensions?.code }).toEqual({ token, status: 401, code: "UNAUTHENTICATED" });
    }
  });

  it("SECURITY 23: ignores an access token in the URL", async () => {
    const auth = await login();
    const res = await fetch(`${h.t.baseUrl}/graphql?access_token=${auth.accessToken}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ me { id } }" }) });
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe("UNAUTHENTICATED");
  });

  it("SECURITY 6 (sessions part): a WebSocket connection_init is checked like HTTP, an ended session's token refused there too", async () => {
    const auth = await login();
    const meOverWs = async (token: string) => {
      let closeCode: number | undefined;
      const client = createClient({
        url: `${h.t.baseUrl.replace("http", "ws")}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: bearer(token),
        retryAttempts: 0,
        on: { closed: (event) => (closeCode = (event as { code: number }).code) },
      });
      try {
        return await new Promise((resolve) => {
          let value: unknown;
          client.subscribe({ query: "{ me { id } }" }, { next: (v) => (value = v), error: () => resolve({ closeCode }), complete: () => resolve(value) });
        });
      } finally {
        await client.dispose();
      }
    };
    expect(await meOverWs(auth.accessToken)).toEqual({ data: { me: { id: auth.user.id } } });
    await graphql(h.t.baseUrl, LogoutDocument, {}, bearer(auth.accessToken));
    expect(await meOverWs(auth.accessToken)).toEqual({ closeCode: 4403 });
  });
});

describe("refresh tokens", () => {
  const refresh = (token: string) => graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: token });
  const reuseAudits = (sessionId: string) => h.t.app.platform.database.prisma.auditEvent.count({ where: { action: "session.token_reuse", subjectId: sessionId } });

  /** Asserts that the session of `rotated` (a refresh's answer) lives on: its access token answers me and its refresh token rotates. */
  async function expectAlive(rotated: Awaited<ReturnType<typeof refresh>> | undefined, userId: string): Promise<void> {
    const tokens = rotated?.data?.refreshTokens;
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(tokens?.accessToken as string))).data?.me?.id).toBe(userId);
    expect(codeOf(await refresh(tokens?.refreshToken as string))).toBeUndefined();
  }

  it("SECURITY 16: rotate on every use; the old one stops working", async () => {
    const auth = await login();
    const first = await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: auth.refreshToken });
    const rt2 = first.data?.refreshTokens.refreshToken as string;
    expect(rt2).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rt2).not.toBe(auth.refreshToken);
    expect(first.data?.refreshTokens.session.id).toBe(auth.session.id);
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(first.data?.refreshTokens.accessToken as string))).data?.me?.id).toBe(auth.user.id);
  });

  it("two tabs refreshing at once with one token: one wins, the other gets UNAUTHENTICATED, and the winner's session lives on", async () => {
    const auth = await login();
    const results = await Promise.all([refresh(auth.refreshToken), refresh(auth.refreshToken)]);
    expect(results.map(codeOf).sort()).toEqual(["UNAUTHENTICATED", undefined]);
    await expectAlive(results.find((r) => r.data?.refreshTokens), auth.user.id);
    expect(await reuseAudits(auth.session.id)).toBe(0);
  });

  /** A login whose first refresh token is rotated, then presented again 9 s later, within the window: refused, not reuse. */
  async function replayedWithinWindow() {
    const auth = await login();
    const rotated = await refresh(auth.refreshToken);
    clock.offsetMs = 9_000;
    expect(codeOf(await refresh(auth.refreshToken))).toBe("UNAUTHENTICATED");
    expect(await reuseAudits(auth.session.id)).toBe(0);
    return { auth, rotated };
  }

  it("a rotated token presented again within REFRESH_REUSE_GRACE_S (10 s) of its rotation is refused without ending the session", async () => {
    const { auth, rotated } = await replayedWithinWindow();
    await expectAlive(rotated, auth.user.id);
  });

  it("SECURITY 17: a rotated token presented again after REFRESH_REUSE_GRACE_S is reuse: the whole session ends, audited, with session.token_reuse_detected", async () => {
    const { auth, rotated } = await replayedWithinWindow();
    clock.offsetMs = 11_000;
    expect(codeOf(await refresh(auth.refreshToken))).toBe("UNAUTHENTICATED");
    expect(codeOf(await refresh(rotated.data?.refreshTokens.refreshToken as string))).toBe("UNAUTHENTICATED");
    expect(codeOf(await graphql(h.t.baseUrl, MeDocument, undefined, bearer(rotated.data?.refreshTokens.accessToken as string)))).toBe("UNAUTHENTICATED");
    expect(await reuseAudits(auth.session.id)).toBe(1);
    await waitUntil("session.token_reuse_detected", async () => (await h.queues.jobs("user-events")).find((j) => j.name === "session.token_reuse_detected" && (j.data as { aggregateId: string }).aggregateId === auth.session.id));
  });

  it("audits each rotation in the same statement, with who and where; a refused refresh writes no rotation record", async () => {
    const auth = await login();
    const ip = from();
    const rotated = await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: auth.refreshToken }, { ...ip, "user-agent": "bench/1" });
    expect(rotated.errors).toBeUndefined();
    const prisma = h.t.app.platform.database.prisma;
    const rows = await prisma.auditEvent.findMany({ where: { action: "session.refresh", subjectId: auth.session.id } });
    expect(rows).toEqual([expect.objectContaining({ subjectType: "session", outcome: "success", actorType: "user", actorId: auth.user.id, ipAddress: ip["x-forwarded-for"], userAgent: "bench/1" })]);
    await graphql(h.t.baseUrl, LogoutDocument, {}, bearer(rotated.data?.refreshTokens.accessToken as string));
    const refused = await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: rotated.data?.refreshTokens.refreshToken as string });
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(await prisma.auditEvent.count({ where: { action: "session.refresh", subjectId: auth.session.id } })).toBe(1);
  });

  it("SECURITY 18: of 10 concurrent refreshes with one token exactly one succeeds", async () => {
    const auth = await login();
    const results = await Promise.all(Array.from({ length: 10 }, () => graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: auth.refreshToken })));
    expect(results.filter((r) => r.data?.refreshTokens).length).toBe(1);
  });

  it("returns the session's device details and, when selected, the user with private fields", async () => {
    const auth = await login();
    const res = await graphql<{ refreshTokens: { session: { id: string; deviceName: string; current: boolean; lastActiveAt: string }; user: { id: string; email: string } } }, { t: string }>(
      h.t.baseUrl,
      "mutation($t: String!) { refreshTokens(refreshToken: $t) { session { id deviceName current lastActiveAt } user { id email } } }",
      { t: auth.refreshToken },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.refreshTokens.session).toMatchObject({ id: auth.session.id, deviceName: "Pixel", current: true });
    expect(new Date(res.data?.refreshTokens.session.lastActiveAt ?? 0).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(res.data?.refreshTokens.user).toEqual({ id: auth.user.id, email: auth.user.email });
  });

  it("limits rotations to REFRESH_RATE_LIMIT (10) a minute per session; a limited refresh does not spend its token", async () => {
    const user = await h.verifiedUser();
    const [busy, other] = [await login(user), await login(user)];
    let token = busy.refreshToken;
    for (let i = 0; i < 10; i += 1) {
      const res = await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: token });
      token = res.data?.refreshTokens.refreshToken as string;
      expect(token).toBeDefined();
    }
    const limited = await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: token });
    expect(limited.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
    expect(limited.errors?.[0]?.extensions?.retryAfter).toEqual(expect.any(Number));
    const held = await h.t.app.platform.database.prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: createHash("sha256").update(token).digest("hex") } });
    expect(held.usedAt).toBeNull();
    // Another session of the same account has its own budget.
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: other.refreshToken })).data?.refreshTokens.session.id).toBe(other.session.id);
  });

  it("SECURITY 19: stores only hashes of refresh tokens", async () => {
    const auth = await login();
    expect(await h.t.app.platform.database.prisma.refreshToken.count({ where: { tokenHash: auth.refreshToken } })).toBe(0);
    expect(await h.t.app.platform.database.prisma.refreshToken.count({ where: { sessionId: auth.session.id } })).toBe(1);
  });
});

describe("sessions per device", () => {
  it("SECURITY 20: lists the caller's sessions with the current one marked; revoking one ends only that device", async () => {
    const user = await h.verifiedUser();
    const phone = await login(user);
    const laptop = await login(user);
    const listed = await graphql(h.t.baseUrl, MySessionsDocument, undefined, bearer(laptop.accessToken));
    expect(listed.data?.mySessions.map((s) => [s.id, s.current]).sort()).toEqual(
      [
        [phone.session.id, false],
        [laptop.session.id, true],
      ].sort(),
    );
    expect(listed.data?.mySessions[0]).toMatchObject({ deviceName: "Pixel", ipAddress: expect.stringMatching(/^198\.51\./) });
    expect((await graphql(h.t.baseUrl, RevokeSessionDocument, { id: phone.session.id }, bearer(laptop.accessToken))).data).toEqual({ revokeSession: true });
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: phone.refreshToken })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(phone.accessToken))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: laptop.refreshToken })).data?.refreshTokens.session.id).toBe(laptop.session.id);
  });

  it("records the country a trusted proxy gives, and only a well-formed one", async () => {
    const user = await h.verifiedUser();
    const { accessToken: token } = await h.signedIn(user, {}, { ...from(), "cf-ipcountry": "DE" });
    await h.login(user.email, PASSWORD, {}, { ...from(), "cf-ipcountry": "Germany<script>" });
    const countries = (await graphql(h.t.baseUrl, MySessionsDocument, undefined, bearer(token))).data?.mySessions.map((s) => s.country).sort();
    expect(countries).toEqual(["DE", null]);
  });

  it("SECURITY 38: another user's session is NOT_FOUND and stays alive", async () => {
    const victim = await login();
    const attacker = await login();
    const res = await graphql(h.t.baseUrl, RevokeSessionDocument, { id: victim.session.id }, bearer(attacker.accessToken));
    expect(res.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(victim.accessToken))).data?.me?.id).toBe(victim.user.id);
  });
});

describe("logout", () => {
  it("SECURITY 21 and 22: ends the session: its refresh token fails and its access token is refused at once", async () => {
    const user = await h.verifiedUser();
    const { email } = user;
    const a = await login(user);
    const b = await login(user);
    expect((await graphql(h.t.baseUrl, LogoutDocument, {}, bearer(a.accessToken))).data).toEqual({ logout: true });
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(a.accessToken))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await graphql(h.t.baseUrl, RefreshTokensDocument, { refreshToken: a.refreshToken })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(b.accessToken))).data?.me?.email).toBe(email);
    expect((await graphql(h.t.baseUrl, LogoutDocument, { allDevices: true }, bearer(b.accessToken))).data).toEqual({ logout: true });
    expect((await graphql(h.t.baseUrl, MeDocument, undefined, bearer(b.accessToken))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("requires a signed-in caller", async () => {
    expect((await graphql(h.t.baseUrl, LogoutDocument, {})).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
