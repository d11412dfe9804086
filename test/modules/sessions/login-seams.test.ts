import DataLoader from "dataloader";
import { decodeJwt } from "jose";
import type { LoginGate, LoginSubject } from "../../../src/modules/sessions";
import type { Origin } from "../../../src/platform/events/unit-of-work";
import { LoginDocument, MeDocument, RefreshTokensDocument } from "../../support/generated/operations";
import { PASSWORD, bearer, fromNewIp, useApp } from "../../support/harness";
import { waitUntil } from "../../support/wait";

// Service tests of the way in: `sessions.api.start` and the login gates on real PostgreSQL; the
// password logins go over HTTP, so that the contract's LoginResult union is what is checked.
const h = useApp();
const origin: Origin = { actor: { type: "anonymous", id: null }, ipAddress: "203.0.113.7", userAgent: "service-test", requestId: "login-seams" };
const device = { name: "test device", fingerprint: null, rememberMe: false };

/** Users whose logins the test gate refuses or challenges; everyone else passes it. */
const refused = new Set<string>();
const challenged = new Set<string>();
const challenge = { challengeToken: "test-challenge", methods: [], expiresAt: new Date("2030-01-01T00:00:00Z") };
const testGate: LoginGate = {
  name: "test-gate",
  check: async (user) => (refused.has(user.id) ? { refused: "not_active" } : challenged.has(user.id) ? challenge : null),
};
beforeAll(() => h.t.app.modules.sessions.api.addGate(testGate));

const row = async (email: string): Promise<LoginSubject> => h.prisma.user.findUniqueOrThrow({ where: { email } });
/** A password login's answer, without its request id. */
const passwordLogin = async (email: string, password = PASSWORD) => {
  const res = await h.gql(LoginDocument, { input: { email, password } }, fromNewIp());
  return { status: res.status, data: res.data, errors: res.errors?.map(({ message, extensions }) => ({ message, code: extensions?.code })) };
};

it("sessions.start: a way in other than the password (no verified hash) gets a session and tokens, audited as a login", async () => {
  const user = await row((await h.verifiedUser()).email);
  const payload = await h.t.app.modules.sessions.api.start(user, device, origin, { amr: ["google"] });
  if (!("accessToken" in payload)) throw new Error("expected tokens");
  expect(decodeJwt(payload.accessToken)).toMatchObject({ sub: user.id, sid: payload.session.id });
  expect(await h.prisma.session.count({ where: { id: payload.session.id, userId: user.id, revokedAt: null } })).toBe(1);
  expect((await h.audit({ subjectId: payload.session.id })).map((r) => [r.action, r.outcome])).toEqual([["user.login", "success"]]);
});

it("login gates: every way in passes them, so start refuses a suspended account whatever the proof", async () => {
  const { email } = await h.verifiedUser();
  await h.prisma.user.update({ where: { email }, data: { status: "SUSPENDED" } });
  const user = await row(email);
  await expect(h.t.app.modules.sessions.api.start(user, device, origin, { amr: ["google"] })).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: "Invalid email or password" });
  expect(await h.prisma.session.count({ where: { userId: user.id } })).toBe(0);
});

it("login gates: a registered gate's refusal ends a correct password login with the wrong password's error, audited with its reason, and no session", async () => {
  const { email } = await h.verifiedUser();
  const user = await row(email);
  refused.add(user.id);
  const wrong = await passwordLogin(email, "Not-The-Password-1!");
  expect(await passwordLogin(email)).toEqual(wrong);
  expect(await h.prisma.session.count({ where: { userId: user.id } })).toBe(0);
  // The failure records are written in the background.
  expect(await waitForReasons(user.id)).toEqual(["bad_password", "not_active"]);
});

it("login gates: a registered gate's challenge is the login's answer instead of tokens, and no session is made", async () => {
  const { email } = await h.verifiedUser();
  const user = await row(email);
  challenged.add(user.id);
  expect((await passwordLogin(email)).data?.login).toEqual({ __typename: "MfaChallenge", challengeToken: "test-challenge", methods: [], expiresAt: "2030-01-01T00:00:00.000Z" });
  expect(await h.prisma.session.count({ where: { userId: user.id } })).toBe(0);
});

it("login gates: a second gate of the same name is refused", () => {
  expect(() => h.t.app.modules.sessions.api.addGate({ ...testGate })).toThrow("login gate test-gate is registered twice");
});

it("claims: the roles in access tokens, at login and at every refresh, come from the claims source", async () => {
  const claims = jest.spyOn(h.t.app.modules.authz.api.claims, "claimsOf").mockResolvedValue({ roles: ["USER", "AUDITOR"] });
  try {
    const signedIn = await h.signedIn();
    expect(decodeJwt(signedIn.accessToken).roles).toEqual(["USER", "AUDITOR"]);
    claims.mockResolvedValue({ roles: ["USER"] });
    const refreshed = (await h.gql(RefreshTokensDocument, { refreshToken: signedIn.refreshToken })).data?.refreshTokens;
    expect(decodeJwt(refreshed?.accessToken ?? "").roles).toEqual(["USER"]);
    expect((await h.gql(MeDocument, undefined, bearer(refreshed?.accessToken ?? ""))).data?.me.roles).toEqual(["USER"]);
    expect(claims.mock.calls.map(([userId]) => userId)).toEqual([signedIn.user.id, signedIn.user.id]);
  } finally {
    claims.mockRestore();
  }
});

/** The reasons of the user's failed logins, once both are recorded. */
async function waitForReasons(userId: string): Promise<string[]> {
  return waitUntil("both failure records", async () => {
    const rows = await h.audit({ subjectId: userId, action: "user.login", outcome: "failure" });
    return rows.length === 2 ? rows.map((r) => (r.metadata as { reason: string }).reason).sort() : undefined;
  });
}

it("User fields: mfaEnabled is a field the sessions module adds (users/ keeps its own), answered for the user themself only (a public profile, even their own, gets null)", async () => {
  const fieldsOf = (name: "users" | "sessions") => h.t.app.modules[name].resolvers.flatMap((r) => Object.getOwnPropertyNames(Object.getPrototypeOf(r)));
  expect(fieldsOf("users")).not.toContain("mfaEnabled");
  expect(fieldsOf("sessions")).toContain("mfaEnabled");
  const self = await h.signedIn();
  const other = await h.signedIn();
  const query = `query ($self: ID!, $other: ID!) { me { mfaEnabled } self: user(id: $self) { mfaEnabled } other: user(id: $other) { mfaEnabled } }`;
  const res = await h.gql<{ me: { mfaEnabled: boolean | null }; self: { mfaEnabled: boolean | null }; other: { mfaEnabled: boolean | null } }, { self: string; other: string }>(query, { self: self.user.id, other: other.user.id }, self.headers);
  expect(res.data).toEqual({ me: { mfaEnabled: false }, self: { mfaEnabled: null }, other: { mfaEnabled: null } });
});

it("User fields: the second-factor status a module gives (the MFA module's) answers mfaEnabled; a second source is refused", async () => {
  const enrolled = await h.signedIn();
  const plain = await h.signedIn();
  expect(() => h.t.app.modules.sessions.api.useSecondFactorStatus(() => new DataLoader(async (ids: readonly string[]) => ids.map(() => true)))).toThrow("the second-factor status source is given twice");
  // What the MFA module reads: an enabled TOTP row (the sealed value's content does not matter here).
  await h.prisma.mfaTotp.create({ data: { userId: enrolled.user.id, secretEnc: "x", wrappedKey: "x", kekId: "x", enabledAt: new Date() } });
  const mfaOf = async (headers: Record<string, string>) => (await h.gql<{ me: { mfaEnabled: boolean | null } }, Record<string, never>>("{ me { mfaEnabled } }", {}, headers)).data?.me.mfaEnabled;
  expect(await mfaOf(enrolled.headers)).toBe(true);
  expect(await mfaOf(plain.headers)).toBe(false);
});
